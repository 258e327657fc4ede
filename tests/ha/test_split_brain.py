# SPDX-License-Identifier: LGPL-2.1-or-later
"""Split brain: the VRRP link is cut, both nodes are master for a few
seconds and hold the same addresses. What happens (docs/HA.md): gwb
commits conntrackd's copy of gwa's flows and announces the addresses
(gratuitous ARP, unsolicited NA), so the neighbours send to gwb; both
nodes carry the same flows with the same mappings, conntrackd (on its own
link) keeps copying both ways, and a new flow gets a mapping no flow of
the other node has. When the link is back, gwa (higher priority) stays
master and announces again. Shown: nothing mistranslated."""

import re
import time

import halib
import topology as T
from halib import VIP4
from halib import RATE, start_tcp_client, switchovers, wait_master

NBYTES = 32 * 1024 * 1024
SECONDS = 8


def reply_tuples(text):
    """{reply tuple: original tuple} of conntrack -L lines (TCP and UDP)."""
    out = {}
    for line in text.splitlines():
        kv = re.findall(r"(src|dst|sport|dport)=(\S+)", line)
        if len(kv) >= 8:
            proto = line.split()[0]
            out[(proto, *[v for _, v in kv[4:8]])] = (proto, *[v for _, v in kv[0:4]])
    return out


def test_split_brain_mistranslates_nothing(pair):
    topo, nodes = pair
    a, b = nodes["gwa"], nodes["gwb"]
    wait_master(a)
    T.wait_for(lambda: b.role_is("backup"), what="gwb backup")
    macs = {topo.mac("gwa", "wan0"): "gwa", topo.mac("gwb", "wan0"): "gwb"}

    udp_srv = halib.start_ha_server(topo, "inet", "udp-echo", T.INET_ADDR, "5002", str(SECONDS + 6), "eth0")
    tcp_srv = T.start_server(topo, "inet", "tcp-server", "5001", "sink", str(NBYTES))
    tcp_cli = start_tcp_client(topo, "lan6", halib.INET_ADDR6, 5001, NBYTES, T.LAN6_ADDR2)
    udp_cli = halib.hatraffic(topo, "lan6", "udp-stream", halib.INET_ADDR6, "5002", str(RATE), str(SECONDS))
    T.wait_for(lambda: "dport=5001" in topo.run("gwb", "conntrackd", "-C", str(b.ctd_conf), "-e").stdout,
               timeout=10, what="the flows in gwb's external cache")
    time.sleep(1.0)

    # the VRRP link is cut (the cable: both ends lose carrier); the sync link stays
    topo.ip("gwb", "link", "set", "vr0", "down")
    T.wait_for(lambda: b.role_is("master") and b.holds(VIP4), timeout=10, interval=0.02, what="gwb master too")
    both = a.role_is("master") and a.holds(VIP4)
    # a new flow while both are master: it goes where the neighbours send it
    new_cli, new_srv = T.udp_exchange(topo, count=20, port=5005, bind=T.LAN6_ADDR)
    time.sleep(2.0)
    tables = {"gwa": a.conntrack(), "gwb": b.conntrack()}

    topo.ip("gwb", "link", "set", "vr0", "up")
    topo.ip("gwa", "link", "set", "vr0", "up")
    T.wait_for(lambda: b.role_is("backup") and not b.holds(VIP4), timeout=10, what="gwb backup again")
    assert a.role_is("master") and a.holds(VIP4)

    cli = halib.result(tcp_cli, timeout=90)
    srv = T.finish_server(tcp_srv, timeout=60)
    udp = halib.result(udp_cli, timeout=60)
    sniffed = halib.result(udp_srv, timeout=60)

    assert both, "gwa gave up the addresses: no split brain happened"
    # what the clients sent arrived intact, from the pool address only
    assert cli["bytes"] == srv["bytes"] == NBYTES and cli["sha256"] == srv["sha256"], (cli, srv)
    assert srv["peer"] == VIP4
    assert new_cli["echoed"] == 20 and all(p[0] == VIP4 for p in new_srv["peers"]), (new_cli, new_srv)
    assert all(f[2] == VIP4 for f in sniffed["frames"]), {f[2] for f in sniffed["frames"]}
    # one mapping per flow across both nodes: no reply tuple leads to two different clients
    merged = {}
    for node, text in tables.items():
        for reply, orig in reply_tuples(text).items():
            assert merged.setdefault(reply, orig) == orig, (node, reply, orig, merged[reply])
    # every datagram of the stream that came back is one the client sent (seq checked by the client)
    lost = len(udp["lost"])
    assert lost < 3 * RATE, udp
    moves = switchovers(sniffed["frames"], macs)
    print(f"\nHA split brain: both master for ~2.5 s; the stream moved {[(m[0], m[1]) for m in moves]} "
          f"({', '.join(f'{m[2] * 1000:.0f} ms' for m in moves)}), UDP lost {lost}/{udp['sent']}; "
          f"TCP {NBYTES >> 20} MiB intact; a new flow during the split: 20/20 echoed from {VIP4}; "
          f"{len(merged)} distinct mappings in both tables, none contradicting")
