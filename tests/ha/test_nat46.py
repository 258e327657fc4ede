# SPDX-License-Identifier: LGPL-2.1-or-later
"""A NAT46 client's flow survives a failover: the translator is stateless,
the flow's state (NAT66 of <Prefix>::<client IPv4>) is conntrack's, which
conntrackd copies like any other (docs/HA.md)."""

import time

import halib
import topology as T
from halib import VIP4
from halib import start_tcp_client, tcp_reply_dports, wait_master

NBYTES = 24 * 1024 * 1024       # ~3 s at halib.TCP_RATE


def test_nat46_flow_survives_failover(pair):
    topo, nodes = pair
    a, b = nodes["gwa"], nodes["gwb"]
    wait_master(a)
    T.wait_for(lambda: b.role_is("backup"), what="gwb backup")

    srv = T.start_server(topo, "inet", "tcp-server", "5004", "sink", str(NBYTES))
    cli = start_tcp_client(topo, "lan4", T.INET_ADDR, 5004, NBYTES, T.LAN4_ADDR)
    T.wait_for(lambda: "dport=5004" in topo.run("gwb", "conntrackd", "-C", str(b.ctd_conf), "-e").stdout,
               timeout=10, what="the NAT46 flow in gwb's external cache")
    time.sleep(0.5)
    killed = time.monotonic()
    a.kill_dead_box()
    wait_master(b)
    took_over = time.monotonic() - killed
    on_b = b.conntrack("-p", "tcp", "--dport", "5004")

    c = halib.result(cli, timeout=90)
    s = T.finish_server(srv, timeout=60)
    assert c["bytes"] == s["bytes"] == NBYTES and c["sha256"] == s["sha256"], (c, s)
    assert s["peer"] == VIP4
    # the flow on gwb is the NAT46 client as NAT66 sees it, with the port the server saw
    assert "src=64:ff9b:1:fffe::c0a8:102 " in on_b, on_b
    assert tcp_reply_dports(on_b, 5004) == [s["peer_port"]], on_b
    stats = b.gw.statistics()
    assert stats["nat46-packets"] > 0
    print(f"\nHA NAT46: {NBYTES >> 20} MiB from {T.LAN4_ADDR} intact across the failover; gwb master "
          f"{took_over:.2f} s after gwa died; same 5-tuple (port {s['peer_port']})")
