# SPDX-License-Identifier: LGPL-2.1-or-later
"""[NAT66] FastPath=yes: established flows NATed and translated in one pass
(bpf/lib/fastpath.h), the state still in conntrack.

The oracles are independent of the program: the peers' own sockets (what
the server saw as source, what came back to the client), `conntrack -L`
(state and timeout of the entry) and the counters of each packet's path.
No timing is asserted: sleeps only let conntrack's clock move.
"""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

import topology as T  # noqa: E402

FAST_CONF = T.GATEWAY_CONF if "FastPath=yes" in T.GATEWAY_CONF else T.GATEWAY_CONF.replace(
    "ClientPrefix=2001:db8:d0be:f00d::/64\n",
    "ClientPrefix=2001:db8:d0be:f00d::/64\nInterface=lan0\nFastPath=yes\n")
assert "FastPath=yes" in FAST_CONF

PUNTS = ("fastpath-punt-header", "fastpath-punt-tcp-control", "fastpath-punt-no-entry",
         "fastpath-punt-not-established", "fastpath-punt-not-nat66", "fastpath-punt-udp-stream",
         "fastpath-punt-route", "fastpath-punt-csum-complete")
# conntrack's own UDP timeouts ("stream" and replied-but-young), set to
# values no default has, so the entry's timeout shows whose it is
UDP_STREAM_TIMEOUT = 77
UDP_YOUNG_TIMEOUT = 53
# conntrack calls a UDP flow a stream (ASSURED) once it is 2 s old (nf_conntrack_proto_udp.c)
UDP_STREAM_AGE = 2.5


def entry(topo, match):
    """(state or None, timeout, line) of the one conntrack entry whose line contains match."""
    out = topo.run("gw", "conntrack", "-L", "-f", "ipv6").stdout
    lines = [line for line in out.splitlines() if match in line]
    assert len(lines) == 1, out
    m = re.match(r"(\w+)\s+\d+\s+(\d+)\s+([A-Z_]+)?", lines[0])
    return m.group(3), int(m.group(2)), lines[0]


def ingress_programs(topo, dev="lan0"):
    """Names of the programs on dev's ingress: tcx links and cls_bpf filters."""
    r = topo.run("gw", T.PYTHON, str(Path(T.__file__).with_name("tcx.py")), dev, "ingress", check=False)
    names = json.loads(r.stdout) if r.returncode == 0 else []
    filters = topo.run("gw", "tc", "filter", "show", "dev", dev, "ingress").stdout
    return names + re.findall(r"name (xlat_\w+)", filters)


def diff(after, before, keys):
    return {k: after[k] - before[k] for k in keys}


@pytest.fixture
def fast(make_gatewayd, topo):
    topo.sysctl("gw", "net.netfilter.nf_conntrack_udp_timeout_stream", str(UDP_STREAM_TIMEOUT))
    topo.sysctl("gw", "net.netfilter.nf_conntrack_udp_timeout", str(UDP_YOUNG_TIMEOUT))
    return make_gatewayd(config_text=FAST_CONF)


def udp_round(topo, count, sport, client="lan6"):
    host = T.INET_ADDR6 if client == "lan6" else T.INET_ADDR
    cli, srv = T.udp_exchange(topo, count=count, client=client, host=host, sport=sport)
    assert cli == {"sent": count, "echoed": count}
    # the server saw the pool address, with the port conntrack chose
    assert {p[0] for p in srv["peers"]} == {T.GW_WAN_ADDR}
    return srv["peers"][0][1]


@pytest.mark.parametrize("client", ["lan6", "lan4"])
def test_udp_flow_takes_fast_path_and_keeps_its_entry_alive(fast, topo, client):
    sport = 40100
    match = f"sport={sport} dport=5002"
    udp_round(topo, 3, sport, client)
    time.sleep(UDP_STREAM_AGE)
    before = fast.statistics()
    udp_round(topo, 3, sport, client)
    after = fast.statistics()
    # The first packet 2 s on went the slow way, where conntrack made the flow a stream.
    assert diff(after, before, ["fastpath-punt-udp-stream"]) == {"fastpath-punt-udp-stream": 1}
    assert "[ASSURED]" in entry(topo, match)[2]
    before = fast.statistics()
    port = udp_round(topo, 20, sport, client)
    after = fast.statistics()
    # Both ways, every packet of the established flow took the fast path.
    assert diff(after, before, ["fastpath-6to4", "fastpath-4to6"]) == {"fastpath-6to4": 20, "fastpath-4to6": 20}
    assert diff(after, before, PUNTS) == dict.fromkeys(PUNTS, 0)
    # a NAT46 client's packets are translated twice each way (4to6 on the LAN, 6to4 to the WAN)
    translations = 20 if client == "lan6" else 40
    assert after["packets-6to4"] - before["packets-6to4"] == translations
    assert after["packets-4to6"] - before["packets-4to6"] == translations

    state, timeout, line = entry(topo, match)
    assert "[ASSURED]" in line and f"dport={port}" in line, line
    assert UDP_STREAM_TIMEOUT - 5 <= timeout <= UDP_STREAM_TIMEOUT, line
    time.sleep(3)
    _, aged, _ = entry(topo, match)
    assert aged < timeout
    before = fast.statistics()
    assert udp_round(topo, 2, sport, client) == port
    after = fast.statistics()
    # Only fast-path packets in between, and the entry's timeout is back up:
    # the fast path refreshed it as conntrack would.
    assert diff(after, before, PUNTS) == dict.fromkeys(PUNTS, 0)
    assert after["fastpath-6to4"] - before["fastpath-6to4"] == 2
    _, refreshed, _ = entry(topo, match)
    assert refreshed > aged and refreshed >= UDP_STREAM_TIMEOUT - 2


def test_young_udp_flow_goes_fast_from_its_first_reply(fast, topo):
    """Before conntrack calls it a stream, a replied flow's packets go fast
    too, each refreshing the entry with conntrack's young-flow timeout."""
    sport = 40103
    match = f"sport={sport} dport=5002"
    before = fast.statistics()
    port = udp_round(topo, 10, sport)
    after = fast.statistics()
    # Request and reply one go the slow way (no entry, then unreplied);
    # everything after the first reply is fast, both ways.
    fast_packets = diff(after, before, ["fastpath-6to4", "fastpath-4to6"])
    assert fast_packets == {"fastpath-6to4": 9, "fastpath-4to6": 9}, fast_packets
    assert after["fastpath-punt-no-entry"] - before["fastpath-punt-no-entry"] == 1
    assert after["fastpath-punt-not-established"] - before["fastpath-punt-not-established"] == 1
    assert after["packets-6to4"] - before["packets-6to4"] == 10
    state, timeout, line = entry(topo, match)
    assert "[ASSURED]" not in line and f"dport={port}" in line, line
    assert UDP_YOUNG_TIMEOUT - 5 <= timeout <= UDP_YOUNG_TIMEOUT, line


def test_deleted_entry_ends_the_fast_path_within_ticks(fast, topo):
    """The fast path keeps a flow's "yes" for two ticks of the kernel's
    clock, per CPU; once conntrack has forgotten the flow, its next packet
    asks again, goes the slow way and makes a new entry."""
    sport = 40104
    match = f"sport={sport} dport=5002"
    # so that the flow's packets meet the "yes" the earlier ones left there
    with T.on_one_cpu():
        udp_round(topo, 10, sport)
        before = fast.statistics()
        udp_round(topo, 5, sport)
        after = fast.statistics()
        assert after["fastpath-6to4"] - before["fastpath-6to4"] == 5
        topo.run("gw", "conntrack", "-D", "-f", "ipv6", "-p", "udp", "--orig-port-src", str(sport))
        time.sleep(0.2)     # two ticks: 20 ms at HZ=100, 8 at 250
        before = fast.statistics()
        udp_round(topo, 1, sport)
        after = fast.statistics()
    assert after["fastpath-6to4"] - before["fastpath-6to4"] == 0
    assert after["fastpath-punt-no-entry"] - before["fastpath-punt-no-entry"] == 1
    assert entry(topo, match)[0] is None     # a new entry (UDP: no state name)


@pytest.mark.skipif("FastPath=yes" in T.GATEWAY_CONF, reason="NAT64_TEST_FASTPATH=1: the suite's default is on")
def test_fast_path_off_by_default(gatewayd, topo):
    sport = 40101
    udp_round(topo, 3, sport)
    time.sleep(UDP_STREAM_AGE)
    before = gatewayd.statistics()
    udp_round(topo, 10, sport)
    after = gatewayd.statistics()
    assert after["fastpath-6to4"] == before["fastpath-6to4"] == 0
    assert after["packets-6to4"] - before["packets-6to4"] == 10
    assert ingress_programs(topo) == ["xlat_4to6"]     # [NAT46]'s, no fast path


@pytest.mark.parametrize("offload", [True, False], ids=["offload", "no-offload"])
def test_tcp_fin_closes_a_fast_flow(fast, topo, offload):
    topo.set_offload(offload)
    sport = 40102
    before = fast.statistics()
    cli, srv = T.tcp_transfer(topo, 4 << 20, sport=sport)
    assert cli["sha256"] == srv["sha256"] and srv["bytes"] == 4 << 20
    assert srv["peer"] == T.GW_WAN_ADDR
    after = fast.statistics()
    # the data (or, where the client's checksums arrive as CHECKSUM_COMPLETE,
    # its ACKs) went the fast way, the handshake and the FINs the slow way
    fast_packets = diff(after, before, ["fastpath-6to4", "fastpath-4to6"])
    assert fast_packets["fastpath-6to4" if offload else "fastpath-4to6"] >= 10, fast_packets
    assert after["fastpath-punt-tcp-control"] - before["fastpath-punt-tcp-control"] >= 3
    state, _, line = entry(topo, f"sport={sport} dport=5001")
    assert state in ("TIME_WAIT", "CLOSE"), line


RST_SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5003)); s.listen(1); print("ready", flush=True)
c, _ = s.accept(); c.settimeout(20); n = 0
while True:
    try:
        d = c.recv(65536)
    except OSError:
        break
    if not d:
        break
    n += len(d)
    c.sendall(b"x" * min(len(d), 100))
print(n, flush=True)
"""

RST_CLIENT = """
import socket, struct, sys
s = socket.create_connection(("%s", 5003), timeout=10, source_address=("", %d))
for _ in range(200):
    s.sendall(b"y" * 1000); s.recv(100)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()   # abortive: an RST
print("done", flush=True)
"""


def test_tcp_rst_closes_a_fast_flow(fast, topo):
    sport = 40103
    srv = topo.popen("inet", sys.executable, "-c", RST_SERVER, stdout=subprocess.PIPE, text=True)
    try:
        assert srv.stdout.readline().strip() == "ready"
        before = fast.statistics()
        r = topo.run("lan6", sys.executable, "-c", RST_CLIENT % (T.INET_ADDR6, sport), timeout=60)
        assert r.stdout.strip() == "done"
        srv.wait(timeout=30)
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()
    after = fast.statistics()
    assert after["fastpath-6to4"] - before["fastpath-6to4"] >= 150
    assert after["fastpath-4to6"] - before["fastpath-4to6"] >= 150
    # The RST's sequence number is ahead of the ACKs conntrack last saw, so it
    # keeps the state for a challenge ACK (nf_conntrack_proto_tcp.c) but gives
    # the entry the close timeout at once: closed within seconds, not days.
    state, timeout, line = entry(topo, f"sport={sport} dport=5003")
    close = int(topo.run("gw", "sysctl", "-n", "net.netfilter.nf_conntrack_tcp_timeout_close").stdout)
    assert state == "CLOSE" or (state == "ESTABLISHED" and timeout <= close), line


def mcast_round(topo, port, sport, count=5, expect=True):
    wait = 6.0 if expect else 2.0
    lis = T.start_udp_listener(topo, "inet", "0.0.0.0", port, count, wait, join=(T.MCAST_GROUP4, T.INET_WAN_ADDR))
    try:
        T.udp_send(topo, "lan6", T.MCAST_GROUP6, port, b"m" * 100, count=count, hops=8, sport=sport)
        return T.finish_server(lis, timeout=wait + 10)["received"]
    finally:
        if lis.poll() is None:
            lis.kill()
            lis.wait()


def test_removed_static_map_ends_its_flow(fast, topo):
    """A multicast map's flow has a DNAT: never fast, so RemoveStaticMap ends it at once."""
    sport = 40104
    assert len(mcast_round(topo, 5204, sport)) == 5
    time.sleep(UDP_STREAM_AGE)
    before = fast.statistics()
    assert len(mcast_round(topo, 5204, sport)) == 5
    after = fast.statistics()
    # to a group, not to the prefix: not the fast path's (and its entry has a DNAT)
    assert after["fastpath-6to4"] == before["fastpath-6to4"]
    assert after["multicast-packets"] >= before["multicast-packets"] + 5
    fast.call("RemoveStaticMap", "s", T.MCAST_GROUP6)
    assert mcast_round(topo, 5204, sport, expect=False) == []


def test_stop_ends_fast_flows(fast, topo):
    sport = 40105
    udp_round(topo, 3, sport)
    time.sleep(UDP_STREAM_AGE)
    udp_round(topo, 3, sport)
    before = fast.statistics()
    udp_round(topo, 5, sport)
    assert fast.statistics()["fastpath-6to4"] - before["fastpath-6to4"] == 5
    # one program on the shared hook: the fast path hands NAT46's IPv4 to 4to6
    assert ingress_programs(topo) == ["xlat_fastpath"]
    fast.stop()
    # nothing of ours is left on the LAN's hook, and the flow goes nowhere
    assert ingress_programs(topo) == []
    cli, srv = T.udp_exchange(topo, count=2, sport=sport)
    assert cli["echoed"] == 0 and srv is None


def test_fast_path_key_checked(tmp_path):
    import gatewayd as gw_lib
    conf = tmp_path / "gateway.conf"
    conf.write_text(FAST_CONF)
    r = subprocess.run([str(gw_lib.daemon_binary()), "--check-config", "--config", str(conf)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "Interface=lan0\nFastPath=yes\n" in r.stdout
    conf.write_text(FAST_CONF.replace("FastPath=yes", "FastPath=maybe"))
    r = subprocess.run([str(gw_lib.daemon_binary()), "--check-config", "--config", str(conf)],
                       capture_output=True, text=True)
    assert r.returncode != 0 and r.stdout == ""
    assert "[NAT66] FastPath=" in r.stderr and '"maybe" is neither "yes" nor "no"' in r.stderr, r.stderr


def test_reload_turns_it_off_and_on(fast, topo):
    sport = 40106
    udp_round(topo, 3, sport)
    time.sleep(UDP_STREAM_AGE)
    udp_round(topo, 3, sport)
    assert ingress_programs(topo) == ["xlat_fastpath"]
    assert json.loads(fast.get_property("FastPathActive").stdout)["data"] is True
    assert fast.status_field("Fast Path") == ["on (active)"]

    fast.config.write_text(FAST_CONF.replace("FastPath=yes", "FastPath=no"))
    fast.call("Reload")
    assert ingress_programs(topo) == ["xlat_4to6"]      # [NAT46]'s hook is 4to6's again
    before = fast.statistics()
    udp_round(topo, 5, sport)                           # the same flow, the slow way now
    after = fast.statistics()
    assert after["fastpath-6to4"] == before["fastpath-6to4"]
    assert after["packets-6to4"] - before["packets-6to4"] == 5
    assert json.loads(fast.get_property("FastPathActive").stdout)["data"] is False
    assert fast.status_field("Fast Path") == ["off"]

    fast.config.write_text(FAST_CONF)
    fast.call("Reload")
    assert ingress_programs(topo) == ["xlat_fastpath"]
    before = fast.statistics()
    udp_round(topo, 5, sport)
    assert fast.statistics()["fastpath-6to4"] - before["fastpath-6to4"] == 5


@pytest.mark.parametrize("before", ["0", "1"])
def test_stop_puts_tcp_window_tracking_back(make_gatewayd, topo, before):
    """The fast path makes conntrack's TCP window tracking liberal while it
    runs; a stop leaves the value the operator had, whatever it was."""
    key = "net.netfilter.nf_conntrack_tcp_be_liberal"

    def liberal():
        return topo.run("gw", "sysctl", "-n", key).stdout.strip()

    topo.sysctl("gw", key, before)
    g = make_gatewayd(config_text=FAST_CONF)
    assert liberal() == "1"
    g.stop()
    assert liberal() == before


# linux/capability.h
CAP_SETPCAP, CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_BPF = 8, 12, 21, 39


def capability_sets(pid):
    """{"CapEff": int, ...} of /proc/<pid>/status."""
    sets = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.startswith("Cap"):
            sets[key] = int(value, 16)
    return sets


def test_capabilities_needed_only_to_load_are_given_up(fast, topo):
    """CAP_SYS_ADMIN lets libbpf find a kfunc in a module's BTF (Debian's
    6.1, units/fastpath-module-kfuncs.conf); the daemon gives it up, with
    CAP_SETPCAP, once the translator is loaded, and keeps what it goes on
    using. Started as root here, it had every capability."""
    mine = capability_sets("self")
    if not mine["CapEff"] >> CAP_SYS_ADMIN & 1 or not mine["CapBnd"] >> CAP_SETPCAP & 1:
        pytest.skip("the tests run without CAP_SYS_ADMIN or CAP_SETPCAP")
    sets = capability_sets(fast.pid)
    for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        for cap in (CAP_SYS_ADMIN, CAP_SETPCAP):
            assert not sets[name] >> cap & 1, f"{name} {sets[name]:#x} still has capability {cap}"
    for cap in (CAP_NET_ADMIN, CAP_BPF):
        assert sets["CapEff"] >> cap & 1, f"CapEff {sets['CapEff']:#x} lost capability {cap}"

    # and the fast path, loaded before, works; so does a reload, which loads no program
    sport = 40107
    udp_round(topo, 3, sport)
    time.sleep(UDP_STREAM_AGE)
    udp_round(topo, 3, sport)
    fast.call("Reload")
    before = fast.statistics()
    udp_round(topo, 5, sport)
    assert fast.statistics()["fastpath-6to4"] - before["fastpath-6to4"] == 5
    assert fast.status_field("Fast Path") == ["on (active)"]
