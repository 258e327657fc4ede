# SPDX-License-Identifier: LGPL-2.1-or-later
"""NAT46 and multicast end to end: the NAT46 -> NAT66 -> NAT64 chain and the
static multicast maps, managed as one unit by nat64-gatewayd, proven with
real traffic on the reference topology (tests/lib/topology.py).

No static neighbours anywhere: every MAC comes from real ARP / ND."""

import json
import random
import re
import signal

import pytest

import gatewayd as gw_lib
import topology as T
from test_gateway import assert_ping, describe, kernel_state, our_filters, prop
from topology import wait_for

MB = 1024 * 1024
NAT46_CLIENT6 = "64:ff9b:1:fffe::c0a8:102"     # 192.168.1.2 under the prefix
INET6 = "64:ff9b:1:fffe::cb00:7101"            # 203.0.113.1
POOL6 = "64:ff9b:1:fffe::c633:6401"            # 198.51.100.1
GROUP4_MAC = "01:00:5e:4b:00:71"               # 234.203.0.113: 01:00:5e + low 23 bits
OPERATOR_TABLE = "operator_filter"


# -- helpers ------------------------------------------------------------------

def payload(n, seed=46):
    """Every byte value, then pseudo-random bytes: n bytes in all."""
    rng = random.Random(seed)
    head = bytes(range(256))
    return (head + rng.randbytes(max(0, n - len(head))))[:n]


def stats(g):
    return g.statistics()


def icmp_in_echos(topo, role="gw"):
    """IcmpInEchos of role's IPv4 stack (namespaced /proc/net/snmp)."""
    lines = [line.split() for line in topo.run(role, "cat", "/proc/net/snmp").stdout.splitlines()
             if line.startswith("Icmp:")]
    return int(dict(zip(lines[0][1:], lines[1][1:]))["InEchos"])


def permanent_neighbours(topo):
    found = {}
    for role in T.ROLES:
        for fam in ("-4", "-6"):
            entries = [n for n in json.loads(topo.ip(role, "-j", fam, "neigh", "show").stdout or "[]")
                       if "PERMANENT" in n.get("state", [])]
            if entries:
                found[(role, fam)] = entries
    return found


def flush_neighbours(topo):
    for role in T.ROLES:
        topo.ip(role, "neigh", "flush", "all", check=False)


def conntrack6(topo):
    return topo.run("gw", "conntrack", "-L", "-f", "ipv6").stdout


def operator_drop(topo, saddr=NAT46_CLIENT6):
    """The README's example, in a table the test owns."""
    topo.run("gw", "nft", "add", "table", "ip6", OPERATOR_TABLE)
    topo.run("gw", "nft", "add", "chain", "ip6", OPERATOR_TABLE, "forward",
             "{ type filter hook forward priority 0; }")
    topo.run("gw", "nft", "add", "rule", "ip6", OPERATOR_TABLE, "forward", "ip6", "saddr", saddr, "drop")


def multicast_round(topo, data, port, count=5, sender="lan6", hops=8, ifname=None, sport=0,
                    group6=T.MCAST_GROUP6, group4=T.MCAST_GROUP4, seconds=8.0, expect=True):
    """Sends count datagrams from sender to group6; an IPv4 listener in inet
    joined to group4 and a frame capture on inet's eth0 watch. Returns
    (datagrams received, frames seen)."""
    wait = seconds if expect else 2.0
    cap = T.start_frame_capture(topo, "inet", "eth0", port, count, wait)
    lis = None
    try:
        lis = T.start_udp_listener(topo, "inet", "0.0.0.0", port, count, wait,
                                   join=(group4, T.INET_WAN_ADDR))
        T.udp_send(topo, sender, group6, port, data, count=count, hops=hops, ifname=ifname, sport=sport)
        got = T.finish_server(lis, timeout=wait + 10)["received"]
        frames = T.finish_server(cap, timeout=wait + 10)["frames"]
    finally:
        for p in (cap, lis):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    return got, frames


def check_multicast(topo, got, frames, data, count, ttl):
    assert len(got) == count, got
    for d in got:
        assert d["peer"] == T.GW_WAN_ADDR
        assert bytes.fromhex(d["data"]) == data, "payload changed on the way"
    wan_mac = T.link_mac(topo, "gw", "wan0")
    assert len(frames) == count, frames
    for f in frames:
        assert f["dst_mac"] == GROUP4_MAC
        assert f["src_mac"] == wan_mac
        assert (f["src"], f["dst"]) == (T.GW_WAN_ADDR, T.MCAST_GROUP4)
        assert f["ttl"] == ttl
        assert bytes.fromhex(f["data"]) == data


# -- NAT46 ------------------------------------------------------------------------

def test_nat46_ping_real_arp(gatewayd, topo):
    """lan4 reaches 203.0.113.1 and its own gateway; every MAC learnt by ARP."""
    assert permanent_neighbours(topo) == {}
    flush_neighbours(topo)
    assert_ping(topo, role="lan4", addr=T.INET_ADDR)

    gw_mac = T.link_mac(topo, "gw", "lan0")
    lan4_mac = T.link_mac(topo, "lan4", "eth0")
    learnt = {n["dst"]: n for n in T.neighbours(topo, "lan4", "dev", "eth0")}
    assert learnt[T.GW_LAN4_ADDR]["lladdr"] == gw_mac
    # The reply left lan0 through the kernel's ARP (bpf_redirect_neigh), not a static entry.
    learnt = {n["dst"]: n for n in T.neighbours(topo, "gw", "dev", "lan0")}
    assert T.LAN4_ADDR in learnt and learnt[T.LAN4_ADDR]["lladdr"] == lan4_mac
    learnt = {n["dst"]: n for n in T.neighbours(topo, "gw", "dev", "wan0")}
    assert T.INET_WAN_ADDR in learnt
    assert permanent_neighbours(topo) == {}


def test_nat46_gateway_itself_untranslated(gatewayd, topo):
    """ARP, ping, TCP and UDP (DNS-like) to 192.168.1.1, broadcast (DHCP-like)
    and link-local multicast reach the gateway's own IPv4 stack as IPv4; the
    translator touches none of it."""
    flush_neighbours(topo)
    before = stats(gatewayd)
    echos = icmp_in_echos(topo)
    assert_ping(topo, role="lan4", addr=T.GW_LAN4_ADDR, count=3)
    assert icmp_in_echos(topo) >= echos + 3
    assert any(n["dst"] == T.GW_LAN4_ADDR and "lladdr" in n for n in T.neighbours(topo, "lan4"))

    # TCP and UDP services of the gateway see the client's IPv4 address.
    cli, srv = T.tcp_transfer(topo, 256 * 1024, client="lan4", server="gw", host=T.GW_LAN4_ADDR, port=5053)
    assert srv["peer"] == T.LAN4_ADDR and srv["sha256"] == cli["sha256"]
    cli, srv = T.udp_exchange(topo, count=3, client="lan4", server="gw", host=T.GW_LAN4_ADDR, port=5353,
                              server_bind=T.GW_LAN4_ADDR)
    assert cli["echoed"] == 3 and all(p[0] == T.LAN4_ADDR for p in srv["peers"])

    data = payload(300)
    # Broadcast, limited and directed (a DHCP DISCOVER goes to the first).
    for dst in ("255.255.255.255", "192.168.1.255"):
        lis = T.start_udp_listener(topo, "gw", "0.0.0.0", 6767, 1, 5)
        T.udp_send(topo, "lan4", dst, 6767, data, broadcast=True, ifname=T.LAN4_ADDR)
        got = T.finish_server(lis)["received"]
        assert [(d["peer"], bytes.fromhex(d["data"])) for d in got] == [(T.LAN4_ADDR, data)], dst
    # Link-local multicast (mDNS's group).
    lis = T.start_udp_listener(topo, "gw", "0.0.0.0", 5354, 1, 5, join=("224.0.0.251", T.GW_LAN4_ADDR))
    T.udp_send(topo, "lan4", "224.0.0.251", 5354, data, hops=1, ifname=T.LAN4_ADDR)
    got = T.finish_server(lis)["received"]
    assert [(d["peer"], bytes.fromhex(d["data"])) for d in got] == [(T.LAN4_ADDR, data)]

    after = stats(gatewayd)
    assert after["packets-4to6"] == before["packets-4to6"], "the translator took traffic for the gateway"
    assert after["nat46-packets"] == before["nat46-packets"]


@pytest.mark.parametrize("offload", [True, False], ids=["offload", "no-offload"])
def test_nat46_tcp_file_transfer(gatewayd, topo, offload):
    topo.set_offload(offload)
    cli, srv = T.tcp_transfer(topo, 4 * MB, upload=True, client="lan4", host=T.INET_ADDR, port=5101)
    assert srv["peer"] == T.GW_WAN_ADDR
    assert srv["bytes"] == 4 * MB and srv["sha256"] == cli["sha256"]
    cli, srv = T.tcp_transfer(topo, 4 * MB, upload=False, client="lan4", host=T.INET_ADDR, port=5102)
    assert srv["peer"] == T.GW_WAN_ADDR
    assert cli["bytes"] == 4 * MB and srv["sha256"] == cli["sha256"]


@pytest.mark.parametrize("offload", [True, False], ids=["offload", "no-offload"])
def test_nat46_udp_transfer(gatewayd, topo, offload):
    topo.set_offload(offload)
    # 100 x 1400 bytes echoed back, each compared by the client.
    cli, srv = T.udp_exchange(topo, count=100, size=1400, client="lan4", host=T.INET_ADDR, port=5103)
    assert cli["echoed"] == 100
    assert {p[0] for p in srv["peers"]} == {T.GW_WAN_ADDR}
    # One way, arbitrary bytes, byte for byte.
    data = payload(1200, seed=4)
    lis = T.start_udp_listener(topo, "inet", "0.0.0.0", 5104, 20, 10)
    T.udp_send(topo, "lan4", T.INET_ADDR, 5104, data, count=20)
    got = T.finish_server(lis, timeout=20)["received"]
    assert len(got) == 20
    assert all(d["peer"] == T.GW_WAN_ADDR and bytes.fromhex(d["data"]) == data for d in got)


def test_nat46_conntrack_shows_ipv6_flow(gatewayd, topo):
    before = stats(gatewayd)
    assert_ping(topo, role="lan4", addr=T.INET_ADDR, count=2)
    cli, srv = T.tcp_transfer(topo, 64 * 1024, client="lan4", host=T.INET_ADDR, port=5105)
    assert srv["sha256"] == cli["sha256"]
    out = conntrack6(topo)
    flows = [line for line in out.splitlines() if f"src={NAT46_CLIENT6} dst={INET6}" in line]
    assert any(line.startswith("icmpv6") for line in flows), out
    tcp = [line for line in flows if line.startswith("tcp") and "dport=5105" in line]
    assert tcp, out
    # Replies are addressed to the pool address the client was mapped onto.
    assert f"src={INET6} dst={POOL6}" in tcp[0]
    after = stats(gatewayd)
    assert after["nat46-packets"] >= before["nat46-packets"] + 4
    assert after["nat46-bytes"] > before["nat46-bytes"]


def test_nat46_filtered_in_ipv6(gatewayd, topo):
    """The README's example: an ip6 rule in the operator's own table blocks lan4."""
    readme = (gw_lib.ROOT / "README.md").read_text()
    assert f"ip6 saddr 64:ff9b:1:fffe::{T.LAN4_ADDR} drop" in readme
    assert_ping(topo, role="lan4", addr=T.INET_ADDR, count=1)
    operator_drop(topo)
    try:
        r = T.ping(topo, "lan4", T.INET_ADDR, count=3)
        assert r.returncode != 0 and " 0 received" in r.stdout, r.stdout
        with pytest.raises(RuntimeError):
            T.tcp_transfer(topo, 64 * 1024, client="lan4", host=T.INET_ADDR, port=5106, timeout=45)
        # Only that client: lan6 and the gateway itself are not affected.
        assert_ping(topo, role="lan6", addr=T.INET_ADDR6, count=1)
        assert_ping(topo, role="lan4", addr=T.GW_LAN4_ADDR, count=1)
        # Our table is not the one that dropped.
        counters = topo.run("gw", "nft", "list", "counters", "table", "ip6", "nat64_gateway").stdout
        assert "nat46" in counters
    finally:
        topo.run("gw", "nft", "delete", "table", "ip6", OPERATOR_TABLE)
    assert_ping(topo, role="lan4", addr=T.INET_ADDR)
    assert gatewayd.state() == "running"


# -- multicast ----------------------------------------------------------------------

@pytest.mark.parametrize("offload", [True, False], ids=["offload", "no-offload"])
def test_multicast_from_lan6_then_removed(gatewayd, topo, offload):
    """The seed's example, byte for byte, with the 01:00:5e MAC and TTL = hops - 1;
    RemoveStaticMap stops it at once, even for the flow conntrack knows."""
    topo.set_offload(offload)
    data = payload(1000)
    before = stats(gatewayd)
    got, frames = multicast_round(topo, data, 5201, hops=8, sport=40001)
    # The kernel's IPv6 forwarding took one hop; the translator keeps the TTL.
    check_multicast(topo, got, frames, data, 5, ttl=7)
    out = conntrack6(topo)
    flow = [line for line in out.splitlines()
            if f"src={T.LAN6_ADDR} dst={T.MCAST_GROUP6} sport=40001 dport=5201" in line]
    # The IPv6 flow, DNATed to <Prefix>::<IPv4 group> and SNATed to the pool.
    assert flow and f"src=64:ff9b:1:fffe::eacb:71 dst={POOL6}" in flow[0], out
    after = stats(gatewayd)
    assert after["multicast-packets"] >= before["multicast-packets"] + 5

    gatewayd.call("RemoveStaticMap", "s", T.MCAST_GROUP6)
    assert prop(gatewayd, "StaticMaps") == []
    assert prop(gatewayd, "MulticastMapCount") == 0
    # Same source port (conntrack still has the DNAT) and a new one: nothing.
    got, frames = multicast_round(topo, data, 5201, hops=8, sport=40001, expect=False)
    assert got == [] and frames == []
    got, frames = multicast_round(topo, data, 5201, hops=8, expect=False)
    assert got == [] and frames == []
    assert stats(gatewayd)["multicast-stale-drops"] >= 5

    # Back over D-Bus: at once again.
    gatewayd.call("AddStaticMap", "ss", T.MCAST_GROUP6, T.MCAST_GROUP4)
    got, frames = multicast_round(topo, data, 5201, hops=8, sport=40001)
    check_multicast(topo, got, frames, data, 5, ttl=7)


def test_multicast_map_added_over_dbus(gatewayd, topo):
    g6, g4 = "ff3e:40:2001:db8:d0be:f00d:d09e:beef", "234.203.0.114"
    data = payload(200, seed=7)
    got, _ = multicast_round(topo, data, 5202, group6=g6, group4=g4, expect=False)
    assert got == []
    gatewayd.call("AddStaticMap", "ss", g6, g4)
    assert prop(gatewayd, "StaticMaps") == [[T.MCAST_GROUP6, T.MCAST_GROUP4], [g6, g4]]
    assert prop(gatewayd, "MulticastMapCount") == 2
    got, _ = multicast_round(topo, data, 5202, group6=g6, group4=g4)
    assert [bytes.fromhex(d["data"]) for d in got] == [data] * 5
    assert {d["peer"] for d in got} == {T.GW_WAN_ADDR}


def test_multicast_sent_by_gateway_itself(gatewayd, topo):
    data = payload(500, seed=8)
    got, frames = multicast_round(topo, data, 5203, sender="gw", hops=4, ifname="lan0")
    # Sent, not forwarded: no hop taken.
    check_multicast(topo, got, frames, data, 5, ttl=4)


@pytest.mark.parametrize("g6,g4", [
    (T.MCAST_GROUP6, "234.203.0.114"),                      # IPv6 group already mapped
    ("ff3e:40:2001:db8:d0be:f00d:d09e:beef", T.MCAST_GROUP4),  # IPv4 group already mapped
    ("2001:db8:d0be:f00d::2", "234.203.0.114"),             # unicast IPv6
    ("fe80::1", "234.203.0.114"),                           # link-local unicast IPv6
    ("ff3e::1", "192.0.2.1"),                               # unicast IPv4
    ("ff3e::1", "255.255.255.255"),                         # broadcast
    ("ff3e::1", "224.0.0.251"),                             # link-local block
    ("ff3e::1", "ff3e::2"),                                 # IPv4 group of the wrong family
    ("234.203.0.114", "ff3e::1"),                           # swapped
])
def test_bad_static_map_refused(gatewayd, topo, g6, g4):
    before = (prop(gatewayd, "StaticMaps"), topo.run("gw", "nft", "list", "ruleset").stdout)
    r = gatewayd.send("AddStaticMap", f"string:{g6}", f"string:{g4}")
    assert r.returncode != 0
    assert "org.freedesktop.DBus.Error.InvalidArgs" in r.stderr, r.stderr
    assert (prop(gatewayd, "StaticMaps"), topo.run("gw", "nft", "list", "ruleset").stdout) == before
    assert prop(gatewayd, "MulticastMapCount") == 1


# -- one unit: busctl, reload, stop ---------------------------------------------------

def test_busctl_shows_nat46_and_multicast(gatewayd, topo, bus):
    assert prop(gatewayd, "NAT46Active") is True
    assert prop(gatewayd, "NAT46Interface") == "lan0"
    assert prop(gatewayd, "MulticastMapCount") == 1
    s = stats(gatewayd)
    for key in ("packets-6to4", "packets-4to6", "nat66-unsolicited-drops", "nat66-foreign-drops",
                "nat46-packets", "nat46-bytes", "multicast-packets", "multicast-bytes",
                "multicast-stale-drops"):
        assert key in s, key
    assert_ping(topo, role="lan4", addr=T.INET_ADDR, count=2)
    multicast_round(topo, payload(100), 5204)
    s2 = stats(gatewayd)
    assert s2["nat46-packets"] >= s["nat46-packets"] + 4
    assert s2["multicast-packets"] >= s["multicast-packets"] + 5
    assert s2["packets-4to6"] > s["packets-4to6"]
    # Plain busctl, as an operator (not root) would read it.
    out = bus.busctl("call", "org.nat64.Gateway1", "/org/nat64/Gateway1", "org.nat64.Gateway1",
                     "GetStatistics", user="nobody").stdout
    assert '"nat46-packets"' in out and '"multicast-packets"' in out
    out = bus.busctl("introspect", "org.nat64.Gateway1", "/org/nat64/Gateway1", "org.nat64.Gateway1").stdout
    assert re.search(r"\.NAT46Active\s+property\s+b\s+true", out), out
    assert re.search(r"\.MulticastMapCount\s+property\s+u\s+1", out), out
    d = describe(gatewayd)
    assert d["NAT46Active"] is True and d["MulticastMapCount"] == 1
    assert "nat46-packets" in d["Statistics"]


NO_NAT46_CONF = re.sub(r"\[NAT46\]\n[^\[]*", "", T.GATEWAY_CONF)
NO_MULTICAST_CONF = re.sub(r"\[Multicast\]\n.*", "", T.GATEWAY_CONF, flags=re.S)


def test_reload_keeps_and_changes_the_chain(gatewayd, topo):
    data = payload(300, seed=9)
    # The same file: everything keeps working.
    gatewayd.call("Reload")
    assert_ping(topo, role="lan4", addr=T.INET_ADDR)
    check_multicast(topo, *multicast_round(topo, data, 5205), data, 5, ttl=7)
    since = len(gatewayd.messages)
    gatewayd.signal(signal.SIGHUP)
    gatewayd.wait_notify("READY=1", since=since)
    assert_ping(topo, role="lan4", addr=T.INET_ADDR)
    check_multicast(topo, *multicast_round(topo, data, 5205), data, 5, ttl=7)

    # Without [NAT46] and [Multicast]: both go, the rest stays.
    gatewayd.config.write_text(re.sub(r"\[Multicast\]\n.*", "", NO_NAT46_CONF, flags=re.S))
    gatewayd.call("Reload")
    assert prop(gatewayd, "NAT46Active") is False
    assert prop(gatewayd, "MulticastMapCount") == 0
    # none, or the fast path's alone (NAT64_TEST_FASTPATH=1: [NAT66] Interface=lan0)
    assert our_filters(topo, "lan0", "ingress") == ("FastPath=yes" in T.GATEWAY_CONF)
    r = T.ping(topo, "lan4", T.INET_ADDR, count=2)
    assert r.returncode != 0
    got, _ = multicast_round(topo, data, 5205, expect=False)
    assert got == []
    assert_ping(topo)       # NAT64 for lan6 unaffected

    # And back.
    gatewayd.config.write_text(T.GATEWAY_CONF)
    gatewayd.call("Reload")
    assert prop(gatewayd, "NAT46Active") is True
    assert our_filters(topo, "lan0", "ingress") == 1
    assert_ping(topo, role="lan4", addr=T.INET_ADDR)
    check_multicast(topo, *multicast_round(topo, data, 5205), data, 5, ttl=7)


def sysctls(topo):
    out = topo.run("gw", "sh", "-c", "grep -H . /proc/sys/net/ipv4/conf/*/forwarding "
                   "/proc/sys/net/ipv6/conf/*/forwarding /proc/sys/net/ipv4/ip_forward", check=False).stdout
    # Links the daemon creates come and go with it.
    return sorted(line for line in out.splitlines() if "/nat64tr" not in line)


def test_whole_chain_stops_with_the_daemon(make_gatewayd, topo):
    before = kernel_state(topo)
    before_sysctl = sysctls(topo)
    g = make_gatewayd()
    assert_ping(topo, role="lan4", addr=T.INET_ADDR, count=1)
    check_multicast(topo, *multicast_round(topo, payload(64), 5206), payload(64), 5, ttl=7)
    assert kernel_state(topo) != before
    assert g.stop() == 0
    assert kernel_state(topo) == before
    assert our_filters(topo, "lan0", "ingress") == 0
    r = T.ping(topo, "lan4", T.INET_ADDR, count=2)
    assert r.returncode != 0, "NAT46 outlived the daemon"
    got, frames = multicast_round(topo, payload(64), 5206, expect=False)
    assert got == [] and frames == []
    # The gateway itself still answers lan4.
    assert_ping(topo, role="lan4", addr=T.GW_LAN4_ADDR, count=1)
    # Forwarding the daemon switched on is a documented lasting change, if any;
    # nothing else in /proc/sys it touched may differ.
    after_sysctl = sysctls(topo)
    changed = sorted(set(before_sysctl) ^ set(after_sysctl))
    assert all("forwarding" in line or "ip_forward" in line for line in changed), changed
