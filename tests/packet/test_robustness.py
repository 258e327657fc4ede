# SPDX-License-Identifier: LGPL-2.1-or-later
"""Inputs a careful translator refuses or handles with care: ICMP errors with
a wrong checksum, lengths that lie, protocol numbers without meaning in the
other family, Ethernet padding, errors without any source to give them.
(Most come from the fuzzer, tests/fuzz/fuzz_xlat.py.)"""
import pytest
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.inet6 import ICMPv6DestUnreach, ICMPv6EchoRequest, ICMPv6ParamProblem, IPv6, IPv6ExtHdrRouting
from scapy.packet import Raw

import xlat
from pkt import (H4, H4_6, H6, H6_4, PAYLOAD, R4, R6, TC_ACT_SHOT, expect6, frame4, frame6,
                 generated_error, translate_ok, udp_pair)


@pytest.mark.parametrize("direction", ["4to6", "6to4"])
def test_icmp_error_with_wrong_checksum_dropped(direction):
    """The translator recomputes an error's checksum from scratch, so it must
    check the one it got first, or corruption leaves with a valid checksum
    (Jool drops these: its icmp4/icmp6 checksum counters)."""
    if direction == "4to6":
        _, inner = udp_pair(H6, H4_6, H6_4, H4)
        p = IP(src=R4, dst=H6_4) / ICMP(type=3, code=3) / Raw(bytes(inner))
        b = bytearray(bytes(p))
        b[22] ^= 0x01          # ICMP checksum
        f = frame4(Raw(bytes(b)))
    else:
        inner, _ = udp_pair(H4_6, H6, H4, H6_4)
        p = IPv6(src=R6, dst=H4_6) / ICMPv6DestUnreach(code=4) / Raw(bytes(inner))
        b = bytearray(bytes(p))
        b[42] ^= 0x01
        f = frame6(Raw(bytes(b)))
    t = xlat.shared()
    before = t.counters()
    assert t.run(direction, f) == (TC_ACT_SHOT, None)
    assert set(xlat.counter_delta(before, t.counters())) <= {"drop-bad-checksum", "drop-malformed"}


def test_icmpv6_error_shorter_than_its_header_not_translated():
    """Payload Length 7: the ICMPv6 header is cut; what follows in the frame
    is not part of the packet (fuzzer find)."""
    inner, _ = udp_pair(H4_6, H6, H4, H6_4)
    p = IPv6(src=R6, dst=H4_6, plen=7) / ICMPv6DestUnreach(code=4) / Raw(bytes(inner))
    t = xlat.shared()
    before = t.counters()
    assert t.run("6to4", frame6(p)) == (TC_ACT_SHOT, None)
    assert xlat.counter_delta(before, t.counters()) == {"drop-malformed": 1}


@pytest.mark.parametrize("proto", [0, 43, 44, 60])
def test_ipv4_protocol_that_is_an_ipv6_extension_header(proto):
    """Copied as-is (RFC 7915 §4.1), IPv4 protocol 0 (HOPOPT), 43, 44 or 60 makes
    the IPv6 stack parse the payload as an extension header. Not translatable."""
    f = frame4(IP(src=H4, dst=H6_4, proto=proto) / Raw(bytes([17, 200]) + PAYLOAD))
    rv, out = xlat.shared().run("4to6", f)
    assert rv == TC_ACT_SHOT


def test_no_rfc6791_address_no_zero_source():
    """Without RFC6791Address and self address (all-zero seed configuration),
    an error from an untranslatable source must not leave from 0.0.0.0."""
    inner, _ = udp_pair(H4_6, H6, H4, H6_4)
    f = frame6(IPv6(src="2001:db8:ffff::1", dst=H4_6) / ICMPv6DestUnreach(code=4) / Raw(bytes(inner)))
    rv, out = xlat.shared().run("6to4", f)
    if rv != TC_ACT_SHOT:
        assert out[14 + 12:14 + 16] != bytes(4), "ICMPv4 error from 0.0.0.0"


@pytest.mark.parametrize("kind", ["udp", "echo"])
def test_ethernet_padding_4to6(kind):
    """A short IPv4 packet arrives padded to 60 bytes: the IPv6 packet is made
    from Total Length, the padding is not payload."""
    if kind == "udp":
        p6, p4 = udp_pair(H4_6, H6, H4, H6_4, payload=b"x")
    else:
        p4 = IP(src=H4, dst=H6_4) / ICMP(type=8, id=5, seq=6)
        p6 = IPv6(src=H4_6, dst=H6) / ICMPv6EchoRequest(id=5, seq=6)
    f = frame4(p4)
    padded = f + bytes(60 - len(f))
    out = translate_ok([], "4to6", padded)
    want = bytes(expect6(f, p6))
    assert out[:len(want)] == want, xlat.hexdiff(out[:len(want)], want)
    assert out[len(want):] == bytes(len(out) - len(want)), "only padding may follow"


@pytest.mark.parametrize("trailer", [bytes(6), b"\xde\xad\xbe\xef\x01\x02"], ids=["zeros", "non-zero"])
def test_icmp4_error_with_trailing_bytes_translated(trailer):
    """Bytes after Total Length (Ethernet padding, some NICs fill it) are not
    part of the ICMP message: its checksum is checked over Total Length."""
    p6, p4 = udp_pair(H6, H4_6, H6_4, H4)
    err = IP(src=R4, dst=H6_4, ttl=60) / ICMP(type=3, code=3) / Raw(bytes(p4))
    f = frame4(err)
    out = translate_ok([], "4to6", f + trailer)
    from pkt import expect_icmp6_error, R4_6
    want = bytes(expect_icmp6_error(f, R4_6, H6, ICMPv6DestUnreach(code=4), bytes(p6), hlim=60, swapped=False))
    assert out[:len(want)] == want, xlat.hexdiff(out[:len(want)], want)


# -- never an ICMP error about what must not be answered (10M-packet fuzz finds) --
# RFC 1122 §3.2.2, RFC 1812 §4.3.2.7, RFC 4443 §2.4(e); the rule lives where
# every error is built, so each case below reaches it by a different rule.

def _dropped_unanswered(flags, direction, frame, reason):
    t = xlat.shared(*flags)
    before = t.counters()
    assert t.run(direction, frame) == (TC_ACT_SHOT, None)
    delta = xlat.counter_delta(before, t.counters())
    assert delta.get(reason) == 1 and "icmp-errors-sent" not in delta, delta


@pytest.mark.parametrize("proto", [1, 17])
@pytest.mark.parametrize("frag, flags", [(16, "DF"), (8000, "MF+DF"), (512, "DF+evil")])
def test_no_fragmentation_needed_about_a_non_initial_fragment(frag, flags, proto):
    """A DF-marked non-initial fragment too big for the IPv6 side: dropped,
    never answered (an error about a fragment tail cannot be matched)."""
    p = IP(src=H4, dst=H6_4, flags=flags, frag=frag, id=7, proto=proto) / Raw(bytes(1400))
    _dropped_unanswered(["--mtu-v6", "1280"], "4to6", frame4(p), "drop-too-big")


def test_fragmentation_needed_about_an_initial_fragment_still_sent():
    """The same packet as a first fragment is answered (the rule above is not too wide)."""
    p = IP(src=H4, dst=H6_4, flags="DF", id=7) / UDP(sport=9, dport=9) / Raw(bytes(1400))
    out = generated_error(["--mtu-v6", "1280"], "4to6", frame4(p))
    assert IP(out[14:]).getlayer(ICMP).type == 3 and IP(out[14:]).getlayer(ICMP).code == 4


@pytest.mark.parametrize("dst", ["ff0e::1", "ff9b::808:404:401", "ffe9:b032:3e93:a385:1e42:3bd1:8c12:ec44",
                                 # IPv4 groups and broadcast behind the prefix: a static
                                 # multicast map's DNAT target (PRODUCT.md's seed group)
                                 "64:ff9b:1:fffe::234.203.0.113", "64:ff9b:1:fffe::224.0.0.1",
                                 "64:ff9b:1:fffe::255.255.255.255"])
def test_no_parameter_problem_about_a_multicast_destination(dst):
    """A Routing header with Segments Left != 0 (RFC 7915 §5.1: Parameter
    Problem) sent to a multicast group: dropped, not answered."""
    p = IPv6(src=H6, dst=dst) / IPv6ExtHdrRouting(type=0, segleft=1, addresses=[H4_6]) / UDP() / Raw(PAYLOAD)
    _dropped_unanswered([], "6to4", frame6(p), "drop-ext-header")


def test_parameter_problem_about_a_unicast_destination_still_sent():
    p = IPv6(src=H6, dst=H4_6) / IPv6ExtHdrRouting(type=0, segleft=1, addresses=[H4_6]) / UDP() / Raw(PAYLOAD)
    out = generated_error([], "6to4", frame6(p))
    assert IPv6(out[14:]).getlayer(ICMPv6ParamProblem) is not None
