# SPDX-License-Identifier: LGPL-2.1-or-later
"""Inputs a careful translator refuses or handles with care: ICMP errors with
a wrong checksum, lengths that lie, protocol numbers without meaning in the
other family, Ethernet padding, errors without any source to give them.
(Most come from the fuzzer, tests/fuzz/fuzz_xlat.py.)"""
import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.inet6 import ICMPv6DestUnreach, ICMPv6EchoRequest, IPv6
from scapy.packet import Raw

import xlat
from pkt import (H4, H4_6, H6, H6_4, PAYLOAD, R4, R6, TC_ACT_SHOT, expect6, frame4, frame6,
                 translate_ok, udp_pair)


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
