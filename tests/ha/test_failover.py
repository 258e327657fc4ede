# SPDX-License-Identifier: LGPL-2.1-or-later
"""Active/backup: gwa dies under load, gwb takes over with conntrackd's
copy of the flows, then gwa comes back and takes over again (docs/HA.md).

Figures (failover time, UDP loss) are printed, not asserted: the tests
assert only what must hold on any machine (the TCP transfer completes
intact with one 5-tuple, the flow is in gwb's conntrack table, loss is
bounded by a few seconds' worth of the stream).
"""

import json
import os
import time

import halib
import topology as T
from halib import RATE, VIP4, start_tcp_client, switchovers, tcp_reply_dports, wait_master

NBYTES = 64 * 1024 * 1024       # at halib.TCP_RATE: ~8 s, across both failovers
SECONDS = 10                    # the UDP stream


def test_failover_under_load(pair):
    topo, nodes = pair
    a, b = nodes["gwa"], nodes["gwb"]
    wait_master(a)
    T.wait_for(lambda: b.role_is("backup"), what="gwb backup")
    assert a.prop("HAHeldAddresses") == [VIP4] and b.prop("HAHeldAddresses") == []
    macs = {topo.mac("gwa", "wan0"): "gwa", topo.mac("gwb", "wan0"): "gwb"}

    udp_srv = halib.start_ha_server(topo, "inet", "udp-echo", T.INET_ADDR, "5002", str(SECONDS + 6), "eth0")
    tcp_srv = T.start_server(topo, "inet", "tcp-server", "5001", "sink", str(NBYTES))
    tcp_cli = start_tcp_client(topo, "lan6", halib.INET_ADDR6, 5001, NBYTES, T.LAN6_ADDR)
    udp_cli = halib.hatraffic(topo, "lan6", "udp-stream", halib.INET_ADDR6, "5002", str(RATE), str(SECONDS))
    start = time.monotonic()

    # conntrackd has copied the flows into gwb's external cache
    T.wait_for(lambda: "dport=5001" in topo.run("gwb", "conntrackd", "-C", str(b.ctd_conf), "-e").stdout
               and "dport=5002" in topo.run("gwb", "conntrackd", "-C", str(b.ctd_conf), "-e").stdout,
               timeout=10, what="the flows in gwb's external cache")
    time.sleep(max(0.0, 2.0 - (time.monotonic() - start)))

    killed = time.monotonic()
    a.kill_dead_box()
    wait_master(b)
    b_master = time.monotonic() - killed
    on_b = b.conntrack("-p", "tcp", "--dport", "5001")
    on_b_udp = b.conntrack("-p", "udp", "--dport", "5002")

    time.sleep(max(0.0, 2.0 - (time.monotonic() - killed)))
    back = time.monotonic()
    a.reboot()
    wait_master(a, timeout=20)
    a_master = time.monotonic() - back
    T.wait_for(lambda: b.role_is("backup"), what="gwb backup again")

    cli = halib.result(tcp_cli, timeout=90)
    srv = T.finish_server(tcp_srv, timeout=60)
    udp = halib.result(udp_cli, timeout=60)
    sniffed = halib.result(udp_srv, timeout=60)

    # TCP: intact, and the server saw one 5-tuple, the one in gwb's table
    assert cli["bytes"] == srv["bytes"] == NBYTES, (cli, srv)
    assert cli["sha256"] == srv["sha256"]
    assert srv["peer"] == VIP4, srv
    assert tcp_reply_dports(on_b, 5001) == [srv["peer_port"]], on_b
    assert "udp" in on_b_udp and "dport=5002" in on_b_udp, on_b_udp

    # every datagram inet saw came from the pool address, via one gateway or the other
    assert all(f[2] == VIP4 for f in sniffed["frames"]), {f[2] for f in sniffed["frames"]}
    moves = switchovers(sniffed["frames"], macs)
    # via gwa, then gwb, and gwa again at the end (a neighbour entry may flap once in between)
    assert moves and moves[0][:2] == ("gwa", "gwb") and moves[-1][:2] == ("gwb", "gwa"), moves
    lost = len(udp["lost"])
    assert lost < 3 * RATE, udp          # a few seconds' worth at most: bounded by the timers

    stats_b = b.gw.statistics()
    assert stats_b["ha-failovers"] >= 1
    fast = ""
    if os.environ.get("NAT64_TEST_FASTPATH") == "1":
        # the flows gwb took over from conntrackd's commit took its fast path
        assert stats_b["fastpath-6to4"] > 0 and stats_b["fastpath-4to6"] > 0, stats_b
        fast = f"; gwb's fast path: {stats_b['fastpath-6to4']} + {stats_b['fastpath-4to6']} packets"
    assert a.gw.statistics()["ha-failovers"] >= 1
    sync = b.sync_statistics()
    assert sync["sync-pckts-recv"] > 0
    print(f"\nHA failover (active/backup): gwb master {b_master:.2f} s after gwa died, "
          f"gwa master again {a_master:.2f} s after its restart (preempt_delay {halib.PREEMPT_DELAY} s); "
          f"last UDP datagram via gwa -> first via gwb {moves[0][2] * 1000:.0f} ms, "
          f"gwb -> gwa {moves[-1][2] * 1000:.0f} ms; UDP lost {lost}/{udp['sent']} "
          f"(longest gap {udp['max_gap'] * 1000:.0f} ms); TCP {NBYTES >> 20} MiB intact, "
          f"5-tuple kept (port {srv['peer_port']}); gwb failovers {stats_b['ha-failovers']}{fast}")
    ha = b.ctl("--json", "ha")
    assert ha.returncode == 0, ha.stderr
    shown = json.loads(ha.stdout)
    assert shown["HARole"] == "backup" and shown["Failovers"] == stats_b["ha-failovers"]
    assert shown["Sync"]["sync-pckts-recv"] > 0
    print("nat64ctl ha on gwb:\n" + b.ctl("ha").stdout)
