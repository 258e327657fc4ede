# SPDX-License-Identifier: LGPL-2.1-or-later
"""Faults on the reference topology with real traffic: reload storms, SIGKILL,
WAN flaps, a full conntrack table, hostile packets at the WAN.

Measured numbers (UDP loss, time to recover) are printed; run with -s to see them.
"""

import json
import re
import signal
import subprocess
import threading
import time

import pytest

import topology as T
from topology import wait_for

LIB = T.TRAFFIC.parent
MB = 1024 * 1024

BAD_CONF = T.GATEWAY_CONF + "\n[Translator]\nPrefix=64:ff9b:1:fffe::/33\n"
GOOD_CONF_B = T.GATEWAY_CONF.replace(
    "Prefix=64:ff9b:1:fffe::/96\n", "Prefix=64:ff9b:1:fffe::/96\nPrefix=2001:db8:64::/96\n").replace(
    "PortRange=32768-65535\n", "PortRange=32768-65535\nLowestIPv6MTU=1400\n")


# -- helpers ------------------------------------------------------------------

def prop(g, name):
    return json.loads(g.get_property(name).stdout)["data"]


def tcx_programs(topo, dev, hook):
    r = topo.run("gw", T.PYTHON, str(LIB / "tcx.py"), dev, hook, check=False)
    return json.loads(r.stdout) if r.returncode == 0 else []


def our_filters(topo, dev, hook):
    r = topo.run("gw", "tc", "filter", "show", "dev", dev, hook, check=False)
    return len(re.findall(r"handle 0x64\b", r.stdout)) + \
        sum(n.startswith("xlat_") for n in tcx_programs(topo, dev, hook))


def our_routes(topo):
    out = topo.ip("gw", "-6", "route", "show", "table", "all", "proto", "64").stdout
    out += topo.ip("gw", "-4", "route", "show", "table", "all", "proto", "64").stdout
    return [line for line in out.splitlines() if line.strip()]


# NAT66, and the guard of PortRange= (the reference topology has one).
OUR_TABLES = ["table ip nat64_gateway", "table ip6 nat64_gateway"]


def our_tables(topo):
    out = topo.run("gw", "nft", "list", "tables").stdout
    return sorted(line.strip() for line in out.splitlines() if line.strip() in OUR_TABLES)


def gw_links(topo):
    out = topo.ip("gw", "-o", "link", "show").stdout
    return [m.group(1) for m in re.finditer(r"^\d+: ([^:@]+)", out, re.M)]


def assert_one_copy(topo):
    for dev, hook in (("wan0", "ingress"), ("lan0", "ingress"), ("nat64tr0", "egress")):
        assert our_filters(topo, dev, hook) == 1, (dev, hook, tcx_programs(topo, dev, hook))
    assert our_tables(topo) == OUR_TABLES
    assert gw_links(topo).count("nat64tr0") == 1
    return our_routes(topo)


class TcpStream:
    """lan6 -> inet TCP upload at a bounded rate, in the background."""

    def __init__(self, topo, nbytes, rate, port=5101):
        self.topo, self.nbytes, self.port = topo, nbytes, port
        self.srv = T.start_server(topo, "inet", "tcp-server", str(port), "sink", str(nbytes))
        self.cli = topo.popen("lan6", T.PYTHON, str(T.TRAFFIC), "tcp-client", T.INET_ADDR6, str(port), "send",
                              str(nbytes), "--rate", str(rate),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait_established(self, timeout=10):
        """Until the flow is established (a connect() while the WAN is away
        fails at once: the gateway answers No route, as a router does)."""
        return wait_for(lambda: [e for e in conntrack_entries(self.topo, "-f", "ipv6", "-p", "tcp",
                                                              "--dport", str(self.port))
                                 if "ESTABLISHED" in e],
                        timeout=timeout, interval=0.05, what="the TCP flow established")

    def finish(self, timeout=120):
        out, err = self.cli.communicate(timeout=timeout)
        assert self.cli.returncode == 0, f"TCP client failed: {err}"
        cli = json.loads(out.strip().splitlines()[-1])
        srv = T.finish_server(self.srv, timeout=timeout)
        assert srv["bytes"] == self.nbytes and cli["bytes"] == self.nbytes, (cli, srv)
        assert srv["sha256"] == cli["sha256"]
        return cli, srv


class UdpStream:
    """count datagrams lan6 -> inet, 50 per second; loss counted at the receiver."""

    def __init__(self, topo, count, port=5102):
        self.count = count
        self.rx = T.start_udp_listener(topo, "inet", T.INET_ADDR, port, count, count * 0.02 + 20)
        self.tx = topo.popen("lan6", T.PYTHON, str(T.TRAFFIC), "udp-send", T.INET_ADDR6, str(port), str(count),
                             b"x".hex() * 32, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def lost(self, timeout=None):
        self.tx.communicate(timeout=timeout or self.count * 0.05 + 30)
        got = len(T.finish_server(self.rx, timeout=40)["received"])
        return self.count - got


def conntrack_entries(topo, *selector):
    r = topo.run("gw", "conntrack", "-L", *selector, check=False)
    return [line for line in r.stdout.splitlines() if line.strip()]


# -- 1. reload storm ----------------------------------------------------------

def test_reload_storm(gatewayd, topo):
    g = gatewayd
    tcp = TcpStream(topo, 24 * MB, rate=3 * MB)
    udp = UdpStream(topo, 400)
    last_good = None
    failures = 0
    t0 = time.monotonic()
    for i in range(100):
        bad = i % 2 == 1
        text = BAD_CONF if bad else (GOOD_CONF_B if (i // 2) % 2 else T.GATEWAY_CONF)
        g.config.write_text(text)
        if i % 4 < 2:
            r = g.send("Reload")
            assert (r.returncode != 0) == bad, (i, r.stderr)
        else:
            since = len(g.messages)
            g.signal(signal.SIGHUP)
            g.wait_notify("READY=1", since=since, timeout=10)
        failures += bad
        if not bad:
            last_good = text
        assert g.running(), f"daemon exited during reload {i}"
    storm = time.monotonic() - t0
    tcp.finish()
    lost = udp.lost()
    print(f"\nreload storm: 100 reloads ({failures} bad) in {storm:.1f}s; UDP lost {lost}/{udp.count}")
    assert g.running()
    assert last_good == GOOD_CONF_B
    wait_for(lambda: g.state() == "running", timeout=5, what="State=running")
    assert prop(g, "Prefixes") == ["64:ff9b:1:fffe::/96", "2001:db8:64::/96"]
    assert prop(g, "LowestIPv6MTU") == 1400
    routes = assert_one_copy(topo)
    assert sorted(r.split()[0] for r in routes) == ["2001:db8:64::/96", "64:ff9b:1:fffe::/96"], routes
    table = topo.run("gw", "nft", "list", "table", "ip6", "nat64_gateway").stdout
    assert "2001:db8:64::/96" in table and "64:ff9b:1:fffe::/96" in table
    assert lost <= udp.count // 10, f"UDP lost {lost}/{udp.count}"


def test_flows_started_during_reloads_are_mapped(gatewayd, topo):
    """600 UDP flows start during a reload storm. A flow's first datagram may
    be lost in one, but conntrack must never keep a flow unmapped: each
    flow's second datagram, sent after the storm, arrives translated, and
    no conntrack entry toward the prefix lacks its SNAT."""
    g = gatewayd
    flows = 600
    stop = threading.Event()
    reloads = []

    def storm():
        while not stop.is_set():
            i = len(reloads)
            g.config.write_text(GOOD_CONF_B if i % 2 else T.GATEWAY_CONF)
            reloads.append(g.send("Reload").returncode)

    rx = T.start_udp_listener(topo, "inet", T.INET_ADDR, 5103, 2 * flows, flows * 0.006 + 6)
    storm_thread = threading.Thread(target=storm)
    storm_thread.start()
    try:
        tx = topo.popen("lan6", T.PYTHON, str(T.TRAFFIC), "udp-flows", T.INET_ADDR6, "5103", str(flows), "1",
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(flows * 0.004)
    finally:
        stop.set()
        storm_thread.join()
    out, err = tx.communicate(timeout=60)
    assert tx.returncode == 0, err
    ports = json.loads(out.strip().splitlines()[-1])["ports"]
    got = T.finish_server(rx, timeout=60)["received"]
    payloads = {bytes.fromhex(d["data"]).decode() for d in got}
    assert {d["peer"] for d in got} == {T.GW_WAN_ADDR}
    firsts = sum(f"first {p}" in payloads for p in ports)
    seconds_lost = [p for p in ports if f"second {p}" not in payloads]
    unmapped = [e for e in conntrack_entries(topo, "-f", "ipv6", "-p", "udp", "--dport", "5103")
                if f"dst={T.LAN6_ADDR} " in e.split("src=")[2]]     # the reply tuple, not SNATed
    print(f"\n{len(reloads)} reloads; first datagrams through {firsts}/{flows}, "
          f"second {flows - len(seconds_lost)}/{flows}; unmapped entries {len(unmapped)}")
    assert len(reloads) >= 50 and not any(reloads)
    assert not unmapped, unmapped[:5]
    assert not seconds_lost, seconds_lost[:10]


# -- 2. crash -------------------------------------------------------------------

def test_sigkill_during_transfer(make_gatewayd, topo):
    first = make_gatewayd()
    tcp = TcpStream(topo, 12 * MB, rate=2 * MB)
    tcp.wait_established()
    time.sleep(1.0)
    udp = UdpStream(topo, 300)
    time.sleep(0.5)
    t_kill = time.monotonic()
    first.kill9()
    second = make_gatewayd()            # as Restart= would
    wait_for(lambda: second.statistics()["packets-6to4"] > 0, timeout=10, interval=0.01,
             what="first translated packet")
    recover = time.monotonic() - t_kill
    after = conntrack_entries(topo, "-f", "ipv6", "-p", "tcp", "--dport", "5101")
    assert after, "the established flow's conntrack entry is gone"
    assert assert_one_copy(topo) and len(our_routes(topo)) == 1
    tcp.finish()
    lost = udp.lost()
    print(f"\nSIGKILL: kill -> first translated packet {recover * 1000:.0f} ms; UDP lost {lost}/{udp.count}")
    assert recover < 5


# -- 3. WAN flaps (WAN missing at start: test_gateway.py::test_wan_missing_at_start) --

def test_wan_flap_while_traffic_flows(gatewayd, topo):
    g = gatewayd
    tcp = TcpStream(topo, 10 * MB, rate=1 * MB)
    udp = UdpStream(topo, 500)
    tcp.wait_established()
    down = 0.0          # seconds the WAN was down or absent, while UDP flowed at 50/s
    for _ in range(3):
        t0 = time.monotonic()
        topo.ip("gw", "link", "set", "wan0", "down")
        time.sleep(0.3)
        topo.ip("gw", "link", "set", "wan0", "up")
        # The kernel flushed the IPv4 routes through the downed link; the
        # network manager (not nat64-gatewayd) puts the default route back.
        topo.ip("gw", "route", "replace", "default", "via", T.INET_WAN_ADDR)
        down += time.monotonic() - t0
        time.sleep(0.7)
    for _ in range(2):
        t0 = time.monotonic()
        topo.delete_wan()
        wait_for(lambda: g.state() == "degraded", timeout=5, what="degraded")
        time.sleep(0.3)
        topo.create_wan()
        wait_for(lambda: g.state() == "running", timeout=5, what="running")
        down += time.monotonic() - t0
        time.sleep(0.7)
    tcp.finish()
    lost = udp.lost()
    print(f"\nWAN flaps: UDP lost {lost}/{udp.count}; the WAN was down or absent {down:.1f} s "
          f"(= {down * 50:.0f} datagrams at 50/s)")
    assert_one_copy(topo)
    assert len(our_routes(topo)) == 1
    cli, srv = T.udp_exchange(topo, count=5)
    assert cli["echoed"] == 5


# -- 4. conntrack table full ------------------------------------------------------

FLOOD = r"""
import socket, sys, time
n, per = int(sys.argv[1]), 60000
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setblocking(False)
sent = 0
for host in range(n // per + 1):
    dst = "64:ff9b:1:fffe::203.0.114.%d" % (host + 1)
    for port in range(1, per + 1):
        if sent >= n:
            break
        while True:
            try:
                s.sendto(b"x", (dst, port)); break
            except BlockingIOError:
                time.sleep(0.0005)
        sent += 1
print(sent)
"""


def ct_numbers(topo):
    r = topo.run("gw", "cat", "/proc/sys/net/netfilter/nf_conntrack_count", "/proc/sys/net/netfilter/nf_conntrack_max")
    count, ctmax = map(int, r.stdout.split())
    return count, ctmax


def test_conntrack_full(gatewayd, topo):
    g = gatewayd
    count, ctmax = ct_numbers(topo)
    # nf_conntrack_max is the host's (read-only in other namespaces on most
    # kernels); nf_conntrack_count is per namespace. Lower the limit if we may.
    r = topo.run("gw", "sh", "-c", "echo 4096 > /proc/sys/net/netfilter/nf_conntrack_max", check=False)
    per_netns = r.returncode == 0
    count, ctmax = ct_numbers(topo)
    if ctmax > 300000:
        pytest.skip(f"nf_conntrack_max {ctmax} is the host's and too large to fill here")
    assert g.statistics()["conntrack-full-events"] == 0
    tcp = TcpStream(topo, 8 * MB, rate=1 * MB)
    time.sleep(1)
    # Unreplied UDP toward 203.0.114.0/24 (inet has no route: nothing answers).
    need = ctmax + ctmax // 20
    t0 = time.monotonic()
    r = topo.run("lan6", T.PYTHON, "-c", FLOOD, str(need), timeout=300)
    count, _ = ct_numbers(topo)
    print(f"\nconntrack: max {ctmax} ({'set in the namespace' if per_netns else 'host'}), "
          f"{r.stdout.strip()} new flows sent in {time.monotonic() - t0:.1f}s, count now {count}")
    wait_for(lambda: g.state() == "degraded", timeout=6, what="State=degraded")
    assert re.search(r"<4>conntrack table nearly full \(\d+/%d\), new flows may be dropped" % ctmax, g.log_text())
    assert g.statistics()["conntrack-full-events"] == 1
    # New flows: refused (or admitted by early drop of unreplied entries), never a crash.
    cli, _ = T.udp_exchange(topo, count=5, port=5103)
    print(f"conntrack: a new UDP flow while full: {cli['echoed']}/5 echoed")
    tcp.finish()        # the established (assured) flow went on
    assert g.running()
    topo.run("gw", "conntrack", "-D", "-p", "udp", check=False, timeout=120)
    wait_for(lambda: g.state() == "running", timeout=6, what="State=running again")
    assert "conntrack table below 90% again" in g.log_text()
    assert g.statistics()["conntrack-full-events"] == 1
    cli, _ = T.udp_exchange(topo, count=5, port=5104)
    assert cli["echoed"] == 5


# -- 5. hostile packets at the WAN -----------------------------------------------

SCAPY_SEND = r"""
import sys
from scapy.all import Ether, IP, UDP, sendp
dst_mac, src = sys.argv[1], sys.argv[2]
sendp(Ether(dst=dst_mac) / IP(src=src, dst="198.51.100.1") / UDP(sport=4444, dport=40000) / b"spoof",
      iface="eth0", count=int(sys.argv[3]), verbose=False)
"""


def test_hostile_packets(gatewayd, topo):
    g = gatewayd
    pytest.importorskip("scapy")
    before = g.statistics()
    mac = T.link_mac(topo, "gw", "wan0")
    # Our own pool address as source, from the WAN.
    topo.run("inet", T.PYTHON, "-c", SCAPY_SEND, mac, T.GW_WAN_ADDR, "10")
    # Unsolicited: no conntrack entry for 198.51.100.1:40001.
    T.udp_send(topo, "inet", T.GW_WAN_ADDR, 40001, b"unsolicited", count=10)
    # A LAN host outside every ClientPrefix toward the prefix.
    topo.ip("lan6", "addr", "add", "2001:db8:bad::2/64", "dev", "eth0", "nodad")
    T.udp_send(topo, "lan6", T.INET_ADDR6, 5105, b"foreign", count=10, bind="2001:db8:bad::2")
    after = wait_for(lambda: (lambda s: s if s["nat66-foreign-drops"] >= before["nat66-foreign-drops"] + 10 else None)(
        g.statistics()), timeout=3, what="foreign drops")
    print(f"\nhostile: drop-spoofed +{after['drop-spoofed'] - before['drop-spoofed']}, "
          f"nat66-unsolicited-drops +{after['nat66-unsolicited-drops'] - before['nat66-unsolicited-drops']}, "
          f"nat66-foreign-drops +{after['nat66-foreign-drops'] - before['nat66-foreign-drops']}")
    assert after["drop-spoofed"] >= before["drop-spoofed"] + 10
    assert after["nat66-unsolicited-drops"] >= before["nat66-unsolicited-drops"] + 10
    counters = topo.run("gw", "nft", "list", "counter", "ip6", "nat64_gateway", "foreign").stdout
    assert int(re.search(r"packets (\d+)", counters).group(1)) >= 10
    assert g.state() == "running"
    # (Without it, source address selection might pick the foreign address.)
    topo.ip("lan6", "addr", "del", "2001:db8:bad::2/64", "dev", "eth0")
    cli, _ = T.udp_exchange(topo, count=3)
    assert cli["echoed"] == 3

