# SPDX-License-Identifier: LGPL-2.1-or-later
"""The translator's route cache (bpf/lib/route.h): a flow's packets toward
IPv4 ask the FIB once per two ticks of the kernel's clock, and a route the
operator changes takes effect that soon.

Oracles: the peers' own sockets (what came back), the route-cached and
drop-no-route counters, and ping's view of the ICMPv6 error the kernel's
route makes the translator send. Sleeps only let the kernel's clock move;
nothing about speed is asserted.
"""

import time

import pytest

import topology as T

# two ticks: 20 ms at HZ=100, 8 at 250, with room to spare
PAST_THE_CACHE = 0.2


@pytest.fixture
def one_cpu():
    """A flow's packets meet the route the earlier ones left in its per-CPU slot."""
    with T.on_one_cpu():
        yield


def echo(topo, count, sport):
    cli, srv = T.udp_exchange(topo, count=count, sport=sport)
    assert cli == {"sent": count, "echoed": count}
    assert {p[0] for p in srv["peers"]} == {T.GW_WAN_ADDR}


def test_a_flows_packets_share_one_lookup(gatewayd, topo, one_cpu):
    before = gatewayd.statistics()
    echo(topo, 30, 40200)
    after = gatewayd.statistics()
    translated = after["packets-6to4"] - before["packets-6to4"]
    cached = after["route-cached"] - before["route-cached"]
    assert translated == 30
    # the first packet asked the FIB; those a moment later took its answer
    assert 0 < cached < translated


@pytest.mark.parametrize("route, text", [
    ("unreachable", "No route"),
    ("prohibit", "Administratively prohibited"),
])
def test_a_new_route_takes_effect_within_ticks(gatewayd, topo, one_cpu, route, text):
    echo(topo, 10, 40201)
    topo.ip("gw", "route", "add", route, f"{T.INET_ADDR}/32")
    try:
        time.sleep(PAST_THE_CACHE)
        before = gatewayd.statistics()
        r = T.ping(topo, "lan6", T.INET_ADDR6, count=1)
        after = gatewayd.statistics()
    finally:
        topo.ip("gw", "route", "del", route, f"{T.INET_ADDR}/32")
    assert f"Destination unreachable: {text}" in r.stdout, r.stdout
    assert after["drop-no-route"] - before["drop-no-route"] == 1
    assert after["route-cached"] == before["route-cached"]
    assert after["packets-6to4"] == before["packets-6to4"]
    # and the route back is taken as soon
    time.sleep(PAST_THE_CACHE)
    echo(topo, 3, 40201)


def test_a_changed_neighbour_takes_effect_within_ticks(gatewayd, topo, one_cpu):
    """The kept route carries the next hop's MAC: once the neighbour table
    has a new one (a replaced router), the flow's packets carry it within
    the two ticks; a kept old MAC would have inet's eth0 discard them."""
    echo(topo, 10, 40202)
    old = T.link_mac(topo, "inet", "eth0")
    new = "02:00:00:00:64:02"
    assert old != new
    topo.ip("inet", "link", "set", "eth0", "address", new)
    try:
        topo.ip("gw", "neigh", "replace", T.INET_WAN_ADDR, "lladdr", new, "dev", "wan0", "nud", "reachable")
        time.sleep(PAST_THE_CACHE)
        before = gatewayd.statistics()
        echo(topo, 3, 40202)
        after = gatewayd.statistics()
    finally:
        topo.ip("inet", "link", "set", "eth0", "address", old)
        topo.ip("gw", "neigh", "replace", T.INET_WAN_ADDR, "lladdr", old, "dev", "wan0", "nud", "reachable")
    assert after["packets-6to4"] - before["packets-6to4"] == 3
