# SPDX-License-Identifier: LGPL-2.1-or-later
"""Router mode (TTL, Time Exceeded), sources of generated errors, IPv4
multicast, pool4/PortRange ownership of 4->6 packets, and the counters."""
import os

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6DestUnreach, ICMPv6TimeExceeded, IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

import xlat
from pkt import (H4, H4_6, H6, H6_4, PAYLOAD, R4, SELF4, SELF6, TC_ACT_OK, TC_ACT_SHOT, assert_frame, expect4,
                 expect6, expect_icmp4_error, expect_icmp6_error, frame4, frame6, generated_error, translate_ok,
                 udp_pair)

ROUTER = ["--router-mode"]


# --- Router mode ---------------------------------------------------------------

@pytest.mark.parametrize("ttl", [2, 64, 255])
def test_router_mode_decrements(ttl):
    p6, p4 = udp_pair(H6, H4_6, H6_4, H4, hlim=ttl)
    p4[IP].ttl = ttl - 1
    f = frame6(p6)
    got = translate_ok(ROUTER, "6to4", f)
    assert_frame(got, expect4(f, got, p4))
    p6, p4 = udp_pair(H4_6, H6, H4, H6_4, hlim=ttl)
    p6[IPv6].hlim = ttl - 1
    f = frame4(p4)
    assert_frame(translate_ok(ROUTER, "4to6", f), expect6(f, p6))


def test_router_mode_decrements_translated_errors():
    inner6, inner4 = udp_pair(H4_6, H6, H4, H6_4)
    f = frame6(IPv6(src="64:ff9b:1:fffe::c0a8:2fe", dst=H4_6, hlim=30) / ICMPv6DestUnreach(code=4) /
               Raw(bytes(inner6)))
    got = translate_ok(ROUTER, "6to4", f)
    assert got[14 + 8] == 29


@pytest.mark.parametrize("hlim", [0, 1])
@pytest.mark.parametrize("self6", [None, SELF6])
def test_router_mode_hop_limit_expired_6to4(hlim, self6):
    flags = ROUTER + (["--self-v6", self6] if self6 else [])
    p6, _ = udp_pair(H6, H4_6, H6_4, H4, hlim=hlim)
    f = frame6(p6)
    t = xlat.shared(*flags)
    before = t.counters()
    got = generated_error(flags, "6to4", f)
    assert_frame(got, expect_icmp6_error(f, self6 or H4_6, H6, ICMPv6TimeExceeded(code=0), bytes(p6)))
    d = xlat.counter_delta(before, t.counters())
    assert d.get("drop-ttl-expired") == 1 and d.get("icmp-errors-sent") == 1, d


@pytest.mark.parametrize("ttl", [0, 1])
@pytest.mark.parametrize("self4", [None, SELF4])
def test_router_mode_ttl_expired_4to6(ttl, self4):
    flags = ROUTER + (["--self-v4", self4] if self4 else [])
    _, p4 = udp_pair(H4_6, H6, H4, H6_4, hlim=ttl)
    f = frame4(p4)
    t = xlat.shared(*flags)
    before = t.counters()
    got = generated_error(flags, "4to6", f)
    assert_frame(got, expect_icmp4_error(f, got, self4 or H6_4, H4, ICMP(type=11, code=0), bytes(p4)))
    d = xlat.counter_delta(before, t.counters())
    assert d.get("drop-ttl-expired") == 1 and d.get("icmp-errors-sent") == 1, d


def test_generated_icmpv4_error_truncated_to_576():
    _, p4 = udp_pair(H4_6, H6, H4, H6_4, hlim=1, payload=bytes(1400))
    f = frame4(p4)
    got = generated_error(ROUTER + ["--self-v4", SELF4], "4to6", f)
    assert len(got) == 14 + 576
    assert_frame(got, expect_icmp4_error(f, got, SELF4, H4, ICMP(type=11, code=0), bytes(p4)[:548]))


# --- IPv4 multicast and broadcast --------------------------------------------------

@pytest.mark.parametrize("group,mac", [
    ("234.203.0.113", "01:00:5e:4b:00:71"),
    ("239.255.255.250", "01:00:5e:7f:ff:fa"),
    ("225.129.2.3", "01:00:5e:01:02:03"),           # RFC 1112 §6.4: low 23 bits only
])
def test_multicast_6to4(group, mac):
    """PRODUCT.md: 64:ff9b:1:fffe::234.203.0.113 leaves as IPv4 multicast with 01:00:5e."""
    p6, p4 = udp_pair("64:ff9b:1:fffe::c633:6401", str(xlat.embed(xlat.DEFAULT_PREFIX, group)), "198.51.100.1",
                      group, dport=5000)
    f = frame6(p6)
    got = translate_ok([], "6to4", f)
    p4[IP].id = int.from_bytes(got[18:20], "big")
    assert_frame(got, Ether(src=xlat.MAC_A, dst=mac, type=0x0800) / p4)


@pytest.mark.parametrize("dst", ["224.0.0.1", "224.0.0.251", "224.0.0.22", "255.255.255.255"])
def test_local_multicast_and_broadcast_passed_4to6(dst):
    f = frame4(IP(src="192.168.2.2", dst=dst, ttl=1) / UDP(sport=5353, dport=5353) / Raw(PAYLOAD))
    t = xlat.shared()
    before = t.counters()
    assert t.run("4to6", f) == (TC_ACT_OK, f)
    assert xlat.counter_delta(before, t.counters()) == {"packets-passed": 1}


# --- pool4 / PortRange (4->6 ownership) ----------------------------------------------

POOL = "198.51.100.1"
POOL_6 = str(xlat.embed(xlat.DEFAULT_PREFIX, POOL))
PR = ["--pool4", POOL, "--pool4", "198.51.100.3", "--port-range", "32768-65535"]


@pytest.mark.parametrize("dport", [32768, 40000, 65535])
@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_port_range_in_translated(dport, proto):
    L4 = UDP if proto == "udp" else TCP
    p4 = IP(src=R4, dst=POOL) / L4(sport=443, dport=dport) / Raw(PAYLOAD)
    p6 = IPv6(src="64:ff9b:1:fffe::cb00:7101", dst=POOL_6) / L4(sport=443, dport=dport) / Raw(PAYLOAD)
    f = frame4(p4)
    assert_frame(translate_ok(PR, "4to6", f), expect6(f, p6))


@pytest.mark.parametrize("frame", [
    frame4(IP(src=R4, dst=POOL) / UDP(sport=443, dport=32767) / Raw(PAYLOAD)),
    frame4(IP(src=R4, dst=POOL) / TCP(sport=443, dport=22)),
    frame4(IP(src=R4, dst=POOL) / ICMP(type=0, id=100, seq=1)),
    frame4(IP(src=R4, dst="198.51.100.2") / UDP(sport=443, dport=40000)),      # not in the pool
    frame4(IP(src=R4, dst=POOL, proto=47) / Raw(PAYLOAD)),                    # no port
    frame4(IP(src=R4, dst=POOL) / ICMP(type=3, code=3) /
           Raw(bytes(IP(src=POOL, dst=R4) / UDP(sport=22, dport=53)))),        # error about a host flow
], ids=["udp-low", "tcp-22", "echo-id-100", "not-pool", "gre", "error-sport-22"])
def test_port_range_out_passed(frame):
    t = xlat.shared(*PR)
    before = t.counters()
    assert t.run("4to6", frame) == (TC_ACT_OK, frame)
    assert xlat.counter_delta(before, t.counters()) == {"packets-passed": 1}


def test_port_range_echo_reply_translated():
    p4 = IP(src=R4, dst=POOL) / ICMP(type=0, id=40000, seq=3) / Raw(PAYLOAD)
    from scapy.layers.inet6 import ICMPv6EchoReply
    p6 = IPv6(src="64:ff9b:1:fffe::cb00:7101", dst=POOL_6) / ICMPv6EchoReply(id=40000, seq=3, data=PAYLOAD)
    f = frame4(p4)
    assert_frame(translate_ok(PR, "4to6", f), expect6(f, p6))


def test_port_range_error_translated():
    inner4 = IP(src=POOL, dst=R4, ttl=60) / UDP(sport=40000, dport=53) / Raw(PAYLOAD)
    inner6 = IPv6(src=POOL_6, dst="64:ff9b:1:fffe::cb00:7101", hlim=60) / UDP(sport=40000, dport=53) / Raw(PAYLOAD)
    f = frame4(IP(src=R4, dst=POOL, ttl=50) / ICMP(type=3, code=3) / Raw(bytes(inner4)))
    got = translate_ok(PR, "4to6", f)
    assert_frame(got, expect_icmp6_error(f, "64:ff9b:1:fffe::cb00:7101", POOL_6, ICMPv6DestUnreach(code=4),
                                         bytes(inner6), hlim=50, swapped=False))


@pytest.mark.parametrize("flags", [PR, ["--pool4", POOL]], ids=["port-range", "pool-only"])
def test_spoofed_pool_source_dropped(flags):
    t = xlat.shared(*flags)
    before = t.counters()
    f = frame4(IP(src=POOL, dst=POOL) / UDP(sport=40000, dport=40000))
    assert t.run("4to6", f) == (TC_ACT_SHOT, None)
    f = frame4(IP(src=POOL, dst=POOL) / TCP(sport=40000, dport=40001))
    assert t.run("4to6", f) == (TC_ACT_SHOT, None)
    assert xlat.counter_delta(before, t.counters()) == {"drop-spoofed": 2}


def test_pool_without_port_range_translates_every_port():
    for dport in (22, 80, 40000):
        p4 = IP(src=R4, dst=POOL) / TCP(sport=443, dport=dport)
        p6 = IPv6(src="64:ff9b:1:fffe::cb00:7101", dst=POOL_6) / TCP(sport=443, dport=dport)
        f = frame4(p4)
        assert_frame(translate_ok(["--pool4", POOL], "4to6", f), expect6(f, p6))
    f = frame4(IP(src=R4, dst="198.51.100.9") / TCP(sport=443, dport=80))
    assert xlat.shared("--pool4", POOL).run("4to6", f) == (TC_ACT_OK, f)


# --- Counters ----------------------------------------------------------------------

def test_counters_per_direction_summed_over_cpus():
    cpus = sorted(os.sched_getaffinity(0))
    frames6 = [frame6(udp_pair(H6, H4_6, H6_4, H4, payload=bytes(n))[0]) for n in (10, 100, 1000)]
    frames4 = [frame4(udp_pair(H4_6, H6, H4, H6_4, payload=bytes(n))[1]) for n in (20, 200)]
    t = xlat.Xlat()
    try:
        for i, f in enumerate(frames6 + frames4):
            os.sched_setaffinity(t.pid, {cpus[i % len(cpus)]})
            rv, _ = t.run("6to4" if f in frames6 else "4to6", f)
            assert rv == TC_ACT_OK
        os.sched_setaffinity(t.pid, {cpus[0]})
        assert t.run("6to4", frame6(IPv6(src="2001:db8::1", dst=H4_6) / UDP())) == (TC_ACT_SHOT, None)
        live = t.counters()
    finally:
        final = t.close()
    want = {"packets-6to4": 3, "bytes-6to4": sum(map(len, frames6)),
            "packets-4to6": 2, "bytes-4to6": sum(map(len, frames4)),
            "drop-not-translatable": 1}
    assert {k: v for k, v in final.items() if v} == want
    assert {k: v for k, v in live.items() if v} == want
    assert set(final) == set(xlat.counter_names())


def test_generated_errors_rate_limited_per_cpu():
    """Generated errors are limited to 100 per second per CPU (the default of
    icmp_errors_per_sec); the rest are dropped and counted."""
    import time
    p6, p4 = udp_pair(H4_6, H6, H4, H6_4, hlim=1)
    f = frame4(p4)
    t = xlat.Xlat(*ROUTER)
    try:
        os.sched_setaffinity(t.pid, {sorted(os.sched_getaffinity(0))[0]})
        t.run("6to4", b"")      # loaded
        start = time.monotonic()
        res = t.run_many([("4to6", f)] * 150)
        elapsed = time.monotonic() - start
    finally:
        c = t.close()
    if elapsed > 0.9:
        pytest.skip(f"150 frames took {elapsed:.2f}s, more than one rate-limit window")
    assert [rv for rv, _ in res].count(7) == 100
    assert [rv for rv, _ in res].count(TC_ACT_SHOT) == 50
    assert c["icmp-errors-sent"] == 100 and c["drop-icmp-ratelimited"] == 50, c
    assert c["drop-ttl-expired"] == 150, c


def _no_error_cases():
    from scapy.layers.inet6 import ICMPv6DestUnreach as DU
    i6, i4 = udp_pair(H6, H4_6, H6_4, H4)
    o6, o4 = udp_pair(H4_6, H6, H4, H6_4)
    group6 = str(xlat.embed(xlat.DEFAULT_PREFIX, "234.1.2.3"))
    return [
        pytest.param("6to4", frame6(IPv6(src="64:ff9b:1:fffe::c0a8:2fe", dst=H4_6, hlim=1) / DU(code=4) /
                                    Raw(bytes(o6))), id="icmpv6-error"),
        pytest.param("4to6", frame4(IP(src=R4, dst=H6_4, ttl=1) / ICMP(type=3, code=3) / Raw(bytes(i4))),
                     id="icmpv4-error"),
        pytest.param("4to6", frame4(IP(src=H4, dst=H6_4, ttl=1, frag=10, proto=17) / Raw(PAYLOAD)),
                     id="non-first-fragment"),
        pytest.param("6to4", frame6(IPv6(src=H6, dst=group6, hlim=1) / UDP(sport=1, dport=2) / Raw(PAYLOAD)),
                     id="multicast-destination"),
    ]


@pytest.mark.parametrize("direction,frame", _no_error_cases())
def test_router_mode_no_error_about_errors_fragments_multicast(direction, frame):
    """TTL expires, but no ICMP error may be sent about an ICMP error, a
    non-initial fragment or a multicast packet: silently dropped."""
    t = xlat.shared(*ROUTER)
    before = t.counters()
    rv, _ = t.run(direction, frame)
    d = xlat.counter_delta(before, t.counters())
    assert rv == TC_ACT_SHOT and "icmp-errors-sent" not in d, (rv, d)
    assert d.get("drop-ttl-expired") == 1, d
