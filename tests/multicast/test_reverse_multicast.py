# SPDX-License-Identifier: LGPL-2.1-or-later
"""IPv4 multicast from inet reaches IPv6 listeners in lan6 through the
translator and the kernel's IPv6 multicast routing (gatewayd/mroute.c).

The oracle is the sender's own bytes (mcast.datagram()) and RFC 6052 for
the source (xlat.embed()); the kernel state is read with ip(8)."""

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

import gatewayd as gw_lib
import mcast
import topology as T
import xlat
from topology import wait_for

HELPER = Path(__file__).with_name("mcast.py")
CONF = T.GATEWAY_CONF + "LANInterface=lan0\n"
SENDER6 = str(xlat.embed(T.NAT64_PREFIX + "/96", T.INET_WAN_ADDR))   # 64:ff9b:1:fffe::198.51.100.2
TABLE = "64"
RULE_PRIORITY = 1064
PORT = 6100
# ip6mr (CONFIG_IPV6_MROUTE): where the kernel has it, its /proc files are in every namespace
HAVE_IP6MR = Path("/proc/net/ip6_mr_vif").exists()
needs_ip6mr = pytest.mark.skipif(not HAVE_IP6MR, reason="kernel without IPv6 multicast routing "
                                 "(CONFIG_IPV6_MROUTE); test_kernel_without_ip6mr_keeps_the_gateway_working")


def _start(topo, role, *args):
    import select
    p = topo.popen(role, T.PYTHON, str(HELPER), *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([p.stdout], [], [], 10)
    line = p.stdout.readline() if ready else ""
    if line.strip() != "ready":
        p.kill()
        raise RuntimeError(f"{args} did not start: {line!r}")
    return p


def finish(p, timeout=60):
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def send4(topo, group, count, ttl=8, port=PORT, interval=0.005, size=200):
    r = topo.run("inet", T.PYTHON, str(HELPER), "send4", group, str(port), str(count), str(ttl), T.INET_WAN_ADDR,
                 str(interval), str(size), timeout=120)
    return json.loads(r.stdout.strip().splitlines()[-1])


def listen6(topo, count, seconds, group=T.MCAST_GROUP6, port=PORT):
    return _start(topo, "lan6", "listen6", group, "eth0", str(port), str(count), str(seconds))


def mroutes(topo):
    return topo.ip("gw", "-6", "mroute", "show", "table", TABLE, check=False).stdout


def mroute_entry(topo, group6):
    """(iif, oifs) of the (*,G) entry of group6 in table 64, None if absent.
    The (*,G) set lists the incoming interface too (the kernel finds such
    entries only through a member of the set) and never sends back to it."""
    m = re.search(rf"^\(::,{re.escape(group6)}\)\s+Iif: (\S+)\s+Oifs: (.*?)\s+State", mroutes(topo), re.M)
    return (m.group(1), set(m.group(2).split())) if m else None


def prop(g, name):
    return json.loads(g.get_property(name).stdout)["data"]


def mrules(topo):
    return [r for r in json.loads(topo.ip("gw", "-6", "-j", "mrule", "show").stdout or "[]")
            if r.get("priority") == RULE_PRIORITY]


def wan_groups(topo):
    """IPv4 groups the gateway is a member of on wan0 (IGMP)."""
    out = topo.ip("gw", "maddr", "show", "dev", "wan0", check=False).stdout
    return {line.split()[1] for line in out.splitlines() if line.strip().startswith("inet ")}


def raw6_sockets(topo):
    """Raw IPv6 sockets of the gateway's namespace (/proc/net/raw6 lines)."""
    return topo.run("gw", "cat", "/proc/net/raw6").stdout.splitlines()[1:]


def check_received(got, count, ttl, size=200):
    assert len(got) == count, f"{len(got)} of {count} datagrams"
    seqs = set()
    for d in got:
        data = bytes.fromhex(d["data"])
        seq = int.from_bytes(data[:4], "big")
        assert data == mcast.datagram(seq, size), f"datagram {seq} changed on the way"
        assert d["src"] == SENDER6
        # The translator keeps the TTL; ip6mr's forwarding counts the one hop.
        assert d["hops"] == ttl - 1
        seqs.add(seq)
    assert seqs == set(range(count))


@pytest.fixture
def rx_gatewayd(make_gatewayd):
    return make_gatewayd(config_text=CONF)


@needs_ip6mr
def test_ipv4_group_reaches_ipv6_listener(rx_gatewayd, topo):
    g = rx_gatewayd
    wait_for(lambda: T.MCAST_GROUP4 in wan_groups(topo), what="IGMP membership on wan0")
    assert mroute_entry(topo, T.MCAST_GROUP6) == ("nat64tr0", {"nat64tr0", "lan0"})
    assert len(mrules(topo)) == 1, mrules(topo)
    before = g.statistics()

    lis = listen6(topo, 100, 15)
    send4(topo, T.MCAST_GROUP4, 100, ttl=8)
    check_received(finish(lis)["received"], 100, ttl=8)

    assert prop(g, "MulticastLANInterface") == "lan0"
    d = {k: v - before.get(k, 0) for k, v in g.statistics().items()}
    assert d["multicast-4to6-packets"] == 100, d
    assert d["multicast-4to6-bytes"] == 100 * (14 + 20 + 8 + 200), d
    assert d["multicast-4to6-unmapped"] == 0, d
    assert mroute_entry(topo, T.MCAST_GROUP6) == ("nat64tr0", {"nat64tr0", "lan0"})


def capture6(topo, seconds, port=PORT):
    return _start(topo, "lan6", "capture6", "eth0", str(port), str(seconds))


@needs_ip6mr
def test_unmapped_and_link_local_groups_stay_out(rx_gatewayd, topo):
    """Nothing of an unmapped group or of 224.0.0.0/24 reaches the LAN (a
    frame capture on lan6, below any membership); a mapped burst on the
    same port afterwards shows the capture would have seen it."""
    g = rx_gatewayd
    wait_for(lambda: T.MCAST_GROUP4 in wan_groups(topo), what="IGMP membership on wan0")
    before = g.statistics()
    cap = capture6(topo, 5)      # longer than the four senders take
    send4(topo, "234.203.0.114", 20, ttl=8)
    send4(topo, "224.0.0.251", 20, ttl=8)
    send4(topo, "239.255.255.250", 20, ttl=8)
    # Mapped, but TTL 1: translated with hop limit 1, which a router does not forward.
    send4(topo, T.MCAST_GROUP4, 20, ttl=1)
    assert finish(cap)["frames"] == []
    d = {k: v - before.get(k, 0) for k, v in g.statistics().items()}
    assert d["multicast-4to6-unmapped"] == 40, d     # 224.0.0.251 is the host's, not "unmapped"
    assert d["multicast-4to6-packets"] == 20, d

    cap = capture6(topo, 3)
    send4(topo, T.MCAST_GROUP4, 20, ttl=8)
    frames = finish(cap)["frames"]
    assert len(frames) == 20 and all(f["dst"] == T.MCAST_GROUP6 and f["src"] == SENDER6 and f["hops"] == 7
                                     for f in frames), frames


@needs_ip6mr
def test_both_directions_at_once(rx_gatewayd, topo):
    """lan6 sends to the IPv6 group (out as IPv4) while inet sends to the IPv4
    group (in as IPv6), on one map, at the same time."""
    wait_for(lambda: T.MCAST_GROUP4 in wan_groups(topo), what="IGMP membership on wan0")
    out_port, in_port = 6201, 6202
    data = bytes(range(256)) * 2
    lis4 = T.start_udp_listener(topo, "inet", "0.0.0.0", out_port, 50, 15, join=(T.MCAST_GROUP4, T.INET_WAN_ADDR))
    lis6 = listen6(topo, 50, 15, port=in_port)
    sender6 = topo.popen("lan6", T.PYTHON, str(T.TRAFFIC), "udp-send", T.MCAST_GROUP6, str(out_port), "50",
                         data.hex(), "--hops", "8", "--ifname", "eth0", stdout=subprocess.PIPE, text=True)
    send4(topo, T.MCAST_GROUP4, 50, ttl=9, port=in_port, interval=0.02)
    assert sender6.wait(timeout=60) == 0
    got4 = T.finish_server(lis4, timeout=30)["received"]
    got6 = finish(lis6)["received"]
    assert len(got4) == 50 and all(d["peer"] == T.GW_WAN_ADDR and bytes.fromhex(d["data"]) == data
                                   for d in got4), got4[:3]
    check_received(got6, 50, ttl=9)


@needs_ip6mr
def test_map_removed_while_traffic_flows(rx_gatewayd, topo):
    """A runtime map, then RemoveStaticMap while inet keeps sending: the
    listener got datagrams before, and none the kernel received after the
    call returned; membership and MFC6 entry go with the map."""
    g = rx_gatewayd
    group6, group4 = "ff3e:40:2001:db8:d0be:f00d:d09e:f00e", "234.203.0.114"
    g.call("AddStaticMap", "ss", group6, group4)
    wait_for(lambda: group4 in wan_groups(topo), what="IGMP membership of the added map")
    assert mroute_entry(topo, group6) is not None

    lis = listen6(topo, 1000, 5, group=group6)
    sender = topo.popen("inet", T.PYTHON, str(HELPER), "send4", group4, str(PORT), "300", "8", T.INET_WAN_ADDR,
                        "0.01", stdout=subprocess.PIPE, text=True)
    time.sleep(1.0)
    g.call("RemoveStaticMap", "s", group6)
    removed_at = time.time()
    assert sender.wait(timeout=60) == 0
    got = finish(lis)["received"]
    assert len(got) > 20, "the map did not work before its removal"
    late = [d for d in got if d["ts"] >= removed_at]
    assert late == [], f"{len(late)} datagrams after RemoveStaticMap returned"
    assert group4 not in wan_groups(topo)
    assert mroute_entry(topo, group6) is None
    # The map in the files is untouched.
    assert T.MCAST_GROUP4 in wan_groups(topo) and mroute_entry(topo, T.MCAST_GROUP6) is not None


@needs_ip6mr
def test_reload_and_link_recreation_followed(make_gatewayd, topo):
    g = make_gatewayd(config_text=CONF)
    wait_for(lambda: T.MCAST_GROUP4 in wan_groups(topo), what="IGMP membership on wan0")
    other4 = "234.203.0.115"
    g.config.write_text(CONF.replace(f"Map={T.MCAST_GROUP6} {T.MCAST_GROUP4}",
                                     f"Map={T.MCAST_GROUP6} {other4}"))
    g.call("Reload")
    wait_for(lambda: other4 in wan_groups(topo) and T.MCAST_GROUP4 not in wan_groups(topo),
             what="membership follows the reload")
    cap = capture6(topo, 2)
    send4(topo, T.MCAST_GROUP4, 10, ttl=8)
    assert finish(cap)["frames"] == [], "the old IPv4 group still reaches the LAN"
    lis = listen6(topo, 20, 10)
    send4(topo, other4, 20, ttl=8)
    check_received(finish(lis)["received"], 20, ttl=8)

    # A WAN link that goes and comes back is joined again.
    topo.delete_wan()
    topo.create_wan()
    wait_for(lambda: other4 in wan_groups(topo), timeout=10, what="membership on the new wan0")
    wait_for(lambda: g.state() == "running", timeout=10, what="running again")
    lis = listen6(topo, 20, 10)
    send4(topo, other4, 20, ttl=8)
    check_received(finish(lis)["received"], 20, ttl=8)

    # The translator link removed by someone: re-created, MIFs and the entry built anew.
    old = json.loads(topo.ip("gw", "-j", "link", "show", "nat64tr0").stdout)[0]["ifindex"]
    topo.ip("gw", "link", "del", "nat64tr0")

    def rebuilt():
        links = json.loads(topo.ip("gw", "-j", "link", "show", "nat64tr0", check=False).stdout or "[]")
        return links and links[0]["ifindex"] != old and \
            mroute_entry(topo, T.MCAST_GROUP6) == ("nat64tr0", {"nat64tr0", "lan0"})
    wait_for(rebuilt, timeout=10, what="translator link and MFC6 entry re-created")
    lis = listen6(topo, 20, 10)
    send4(topo, other4, 20, ttl=8)
    check_received(finish(lis)["received"], 20, ttl=8)


@needs_ip6mr
def test_stop_and_restart_leave_nothing(make_gatewayd, topo):
    g = make_gatewayd(config_text=CONF)
    wait_for(lambda: T.MCAST_GROUP4 in wan_groups(topo), what="IGMP membership on wan0")
    assert topo.run("gw", "cat", "/proc/sys/net/ipv6/conf/all/mc_forwarding").stdout.strip() == "1"
    assert len(raw6_sockets(topo)) == 1      # the MRT6_INIT socket, ICMPv6 (protocol 58 = 0x3A)
    # Killed: the kernel flushes table 64 with the socket, the rule stays ...
    g.kill9()
    assert mroutes(topo).strip() == ""
    assert len(mrules(topo)) == 1
    # ... and the next instance replaces it: one rule, not two.
    g.start()
    wait_for(lambda: T.MCAST_GROUP4 in wan_groups(topo), what="IGMP membership on wan0")
    assert len(mrules(topo)) == 1, mrules(topo)
    lis = listen6(topo, 10, 10)
    send4(topo, T.MCAST_GROUP4, 10, ttl=4)
    check_received(finish(lis)["received"], 10, ttl=4)

    assert g.stop() == 0
    assert mroutes(topo).strip() == ""
    assert mrules(topo) == []
    assert T.MCAST_GROUP4 not in wan_groups(topo)
    assert topo.run("gw", "cat", "/proc/sys/net/ipv6/conf/all/mc_forwarding").stdout.strip() == "0"
    assert raw6_sockets(topo) == []


@needs_ip6mr
def test_without_lan_interface_nothing_is_taken(gatewayd, topo):
    """The reference configuration (no LANInterface=): no table, rule or membership."""
    assert mroutes(topo).strip() == "" and mrules(topo) == []
    assert T.MCAST_GROUP4 not in wan_groups(topo)
    assert topo.run("gw", "cat", "/proc/sys/net/ipv6/conf/all/mc_forwarding").stdout.strip() == "0"
    assert prop(gatewayd, "MulticastLANInterface") == ""


@pytest.mark.parametrize("value,error", [
    ("wan0", '"wan0" is the WANInterface='),
    ("lan 0", "is not a valid interface name"),
])
def test_bad_lan_interface_refused(tmp_path, value, error):
    conf = tmp_path / "gateway.conf"
    conf.write_text(CONF.replace("LANInterface=lan0", f"LANInterface={value}"))
    r = subprocess.run([str(gw_lib.daemon_binary()), f"--config={conf}", "--check-config"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "[Multicast] LANInterface=" in r.stderr and error in r.stderr, r.stderr


@needs_ip6mr
def test_bad_reload_changes_nothing(rx_gatewayd, topo):
    g = rx_gatewayd
    wait_for(lambda: T.MCAST_GROUP4 in wan_groups(topo), what="IGMP membership on wan0")
    g.config.write_text(CONF.replace("LANInterface=lan0", "LANInterface=wan0").replace(
        T.MCAST_GROUP4, "234.203.0.115"))
    r = g.call("Reload", check=False)
    assert r.returncode != 0
    assert prop(g, "MulticastLANInterface") == "lan0"
    assert wan_groups(topo) >= {T.MCAST_GROUP4} and "234.203.0.115" not in wan_groups(topo)
    assert mroute_entry(topo, T.MCAST_GROUP6) == ("nat64tr0", {"nat64tr0", "lan0"})
    lis = listen6(topo, 10, 10)
    send4(topo, T.MCAST_GROUP4, 10, ttl=8)
    check_received(finish(lis)["received"], 10, ttl=8)


@pytest.mark.skipif(HAVE_IP6MR, reason="the kernel has IPv6 multicast routing")
def test_kernel_without_ip6mr_keeps_the_gateway_working(rx_gatewayd, topo):
    """Without ip6mr the daemon says why this direction is off and translates as before."""
    g = rx_gatewayd
    wait_for(lambda: "Failed to take IPv6 multicast routing table" in g.log_text(), what="the daemon's error")
    assert "multicast from the WAN is not forwarded" in g.log_text()
    before = g.statistics()["packets-6to4"]
    r = T.ping(topo, "lan6", SENDER6, count=3)
    assert r.returncode == 0, r.stdout + r.stderr
    assert g.statistics()["packets-6to4"] - before == 3
