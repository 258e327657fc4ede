# SPDX-License-Identifier: LGPL-2.1-or-later
"""Active/active: two gateways, each master of its own addresses (gwa
198.51.100.1, gwb 198.51.100.21) and backup of the other's; lanrtr spreads
the flows over both by ECMP with L4 hashing; conntrackd syncs both ways
straight into the kernel tables (DisableExternalCache). gwb dies: its flows
go on through gwa, gwa's own flows are not disturbed (docs/HA.md)."""

import re
import time

import halib
import topology as T
from halib import TRANSIT_VIP6, VIP4, VIP4_B

FLOWS = 200
SECONDS = 6                 # each flow sends a record every 100 ms for this long
PORT = 5003


def reply_addresses(text):
    """{client port: the pool address the flow is mapped onto} from conntrack -L of TCP to PORT."""
    out = {}
    for line in text.splitlines():
        m = re.search(rf"sport=(\d+) dport={PORT} src=\S+ dst=64:ff9b:1:fffe::(\S+) ", line)
        if m:
            out[int(m.group(1))] = m.group(2)
    return out


POOL6 = {"c633:6401": VIP4, "c633:6415": VIP4_B}


def test_active_active_survives_one_gateway(active_pair):
    topo, nodes = active_pair
    a, b = nodes["gwa"], nodes["gwb"]
    T.wait_for(lambda: a.role_is("master") and b.role_is("master") and a.holds(VIP4) and b.holds(VIP4_B)
               and a.holds(TRANSIT_VIP6["gwa"]) and b.holds(TRANSIT_VIP6["gwb"]),
               timeout=15, what="each gateway master of its own addresses")
    assert a.prop("HAHeldAddresses") == [VIP4] and b.prop("HAHeldAddresses") == [VIP4_B]

    srv = halib.start_ha_server(topo, "inet", "tcp-echo", str(PORT), str(SECONDS + 8))
    cli = halib.start_ha_server(topo, "lan6", "tcp-flows", halib.INET_ADDR6, str(PORT), str(FLOWS),
                                str(SECONDS), "--hold", "3", timeout=30)
    # every flow is in both kernel tables: its own gateway's and, synced, the other's
    T.wait_for(lambda: len(reply_addresses(a.conntrack("-p", "tcp"))) == FLOWS
               and len(reply_addresses(b.conntrack("-p", "tcp"))) == FLOWS,
               timeout=15, what="all flows in both conntrack tables")
    mapping = reply_addresses(a.conntrack("-p", "tcp"))
    via = {port: POOL6.get(addr) for port, addr in mapping.items()}
    n_a = sum(v == VIP4 for v in via.values())
    n_b = sum(v == VIP4_B for v in via.values())
    assert n_a + n_b == FLOWS and n_a > 0 and n_b > 0, (n_a, n_b)

    time.sleep(1.5)
    killed = time.monotonic()
    b.kill_dead_box()
    T.wait_for(lambda: a.holds(VIP4_B) and a.holds(TRANSIT_VIP6["gwb"]), timeout=10, interval=0.02,
               what="gwa holding gwb's addresses")
    took_over = time.monotonic() - killed

    flows = halib.result(cli, timeout=60)["flows"]
    peers = halib.result(srv, timeout=60)["peers"]
    assert len(flows) == FLOWS
    broken = [f for f in flows if f["broken"] or f["bad"] or f["ok"] != f["sent"]]
    assert not broken, broken[:5]
    # the server saw each flow from the address of the gateway that mapped it, and no other
    assert sorted(p[0] for p in peers) == sorted(via.values())

    gaps_b = [f["max_gap"] for f in flows if via.get(f["local_port"]) == VIP4_B]
    gaps_a = [f["max_gap"] for f in flows if via.get(f["local_port"]) == VIP4]
    roles = dict(a.prop("HAInstances"))
    assert roles == {"VI_A": "master", "VI_B": "master"}, roles
    assert a.gw.statistics()["ha-failovers"] >= 2
    print(f"\nHA active/active: {FLOWS} flows, {n_a} via gwa / {n_b} via gwb; gwb killed, gwa held its "
          f"addresses {took_over:.2f} s later; every flow intact; longest echo gap of gwb's flows "
          f"{max(gaps_b) * 1000:.0f} ms (median {sorted(gaps_b)[len(gaps_b) // 2] * 1000:.0f} ms), of gwa's "
          f"{max(gaps_a) * 1000:.0f} ms")
