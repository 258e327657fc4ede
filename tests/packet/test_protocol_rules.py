# SPDX-License-Identifier: LGPL-2.1-or-later
"""Packets the translator must refuse rather than turn into valid-looking
ones, outer and quoted alike (RFC 7915 §4.3 and §5.3 translate the quoted
packet "in the same way" as the outer one).

* IPv6 UDP with checksum 0 (invalid in IPv6, RFC 8200 §8.1) going 6to4:
  the IPv4 checksum is computed over the datagram (RFC 7915 §4.5, as 4to6
  does the other way), a computed 0 sent as 0xffff (RFC 768); with
  UDPZeroChecksum=drop, or as a first fragment, dropped without an error.
* Protocol numbers without a counterpart: ICMPv6 (58) and the IPv6
  extension header numbers (0, 43, 44, 60) in IPv4, ICMPv4 (1) in IPv6.
* ICMP errors quoting such a packet, or quoting addresses that map to
  nothing.

Expected packets are built by scapy; drops are checked by the counter that
moves and by the absence of any output.
"""
import pytest
from scapy.layers.inet import ICMP, IP, UDP, IPerror, UDPerror
from scapy.layers.inet6 import (ICMPv6DestUnreach, ICMPv6EchoRequest, IPv6, IPv6ExtHdrFragment,
                                IPv6ExtHdrHopByHop)
from scapy.packet import Raw

import xlat
from pkt import (H4, H4_6, H6, H6_4, PAYLOAD, R4, TC_ACT_OK, TC_ACT_SHOT, assert_frame, expect4, frame4,
                 frame6, translate_ok, udp_pair)

IPV6_ONLY_IN_IPV4 = [0, 43, 44, 58, 60]
ICMPV4 = 1


def dropped(flags, direction, frame, counter):
    """frame is dropped, nothing comes out, exactly `counter` moves."""
    t = xlat.shared(*flags)
    before = t.counters()
    assert t.run(direction, frame) == (TC_ACT_SHOT, None)
    assert xlat.counter_delta(before, t.counters()) == {counter: 1}


def zero_udp6(payload, **kw):
    """IPv6 UDP with checksum 0, and the IPv4 datagram scapy computes for it."""
    p6, p4 = udp_pair(H6, H4_6, H6_4, H4, payload=payload, **kw)
    p6[UDP].chksum = 0
    return p6, p4


# --- 1. UDP checksum 0, 6to4 ---------------------------------------------------

@pytest.mark.parametrize("size", [0, 13, 1000])
def test_udp_zero_checksum_6to4_computed(size):
    p6, p4 = zero_udp6(bytes((i * 11) & 0xFF for i in range(size)))
    f = frame6(p6)
    got = translate_ok([], "6to4", f)
    assert IP(got[14:])[UDP].chksum != 0
    assert_frame(got, expect4(f, got, p4))


def test_udp_zero_checksum_6to4_computed_as_ffff():
    """A datagram whose IPv4 checksum computes to 0 leaves with 0xffff (RFC 768)."""
    _, p4 = udp_pair(H6, H4_6, H6_4, H4, payload=b"\0\0" + PAYLOAD)
    c0 = IP(bytes(p4))[UDP].chksum
    p6, p4 = zero_udp6(c0.to_bytes(2, "big") + PAYLOAD)
    assert IP(bytes(p4))[UDP].chksum == 0xFFFF
    f = frame6(p6)
    got = translate_ok([], "6to4", f)
    assert IP(got[14:])[UDP].chksum == 0xFFFF
    assert_frame(got, expect4(f, got, p4))


def test_udp_zero_checksum_6to4_atomic_fragment_computed():
    """A Fragment header with offset 0 and M=0 holds the whole datagram."""
    p6, p4 = zero_udp6(PAYLOAD)
    p6 = IPv6(src=H6, dst=H4_6, hlim=64) / IPv6ExtHdrFragment(id=0x1234, offset=0, m=0) / p6[UDP]
    p4 = IP(src=H6_4, dst=H4, ttl=64, id=0x1234, flags=0) / p4[UDP]
    f = frame6(p6)
    got = translate_ok([], "6to4", f)
    assert_frame(got, expect4(f, got, p4, copy_id=False))


def test_udp_zero_checksum_6to4_drop_configured():
    """UDPZeroChecksum=drop: dropped and counted, no IPv4 packet, no error."""
    p6, _ = zero_udp6(PAYLOAD)
    dropped(["--udp-zero-drop"], "6to4", frame6(p6), "drop-udp-zero-checksum")


def test_udp_zero_checksum_6to4_first_fragment_dropped():
    """The rest of the datagram is in later fragments: nothing to compute over."""
    p6, _ = zero_udp6(PAYLOAD)
    p6 = IPv6(src=H6, dst=H4_6) / IPv6ExtHdrFragment(id=7, offset=0, m=1) / p6[UDP]
    dropped([], "6to4", frame6(p6), "drop-udp-zero-checksum")


def test_udp_nonzero_checksum_6to4_with_drop_configured_translated():
    p6, p4 = udp_pair(H6, H4_6, H6_4, H4)
    f = frame6(p6)
    got = translate_ok(["--udp-zero-drop"], "6to4", f)
    assert_frame(got, expect4(f, got, p4))


# --- 2. protocol numbers without a counterpart --------------------------------

@pytest.mark.parametrize("proto", IPV6_ONLY_IN_IPV4)
def test_ipv6_only_protocol_in_ipv4_dropped(proto):
    body = bytes(ICMPv6EchoRequest(id=1, seq=1, data=PAYLOAD)) if proto == 58 else bytes(8) + PAYLOAD
    p4 = IP(src=H4, dst=H6_4, proto=proto) / Raw(body)
    dropped([], "4to6", frame4(p4), "drop-untranslatable-protocol")


@pytest.mark.parametrize("proto", IPV6_ONLY_IN_IPV4)
def test_ipv6_only_protocol_to_the_host_passes(proto):
    """Not the translator's packet (outside IPv4Address=): left to the host untouched."""
    flags = ["--pool4", "198.51.100.1"]
    f = frame4(IP(src=H4, dst="198.51.100.9", proto=proto) / Raw(bytes(8) + PAYLOAD))
    t = xlat.shared(*flags)
    before = t.counters()
    rv, out = t.run("4to6", f)
    assert rv == TC_ACT_OK and (out is None or out == f)
    assert xlat.counter_delta(before, t.counters()) == {"packets-passed": 1}


@pytest.mark.parametrize("chain", ["none", "hbh", "fragment", "later-fragment"])
def test_icmpv4_in_ipv6_dropped(chain):
    body = ICMP(type=8, id=1, seq=1) / Raw(PAYLOAD)
    if chain == "hbh":
        p6 = IPv6(src=H6, dst=H4_6) / IPv6ExtHdrHopByHop(nh=ICMPV4) / body
    elif chain == "fragment":
        p6 = IPv6(src=H6, dst=H4_6) / IPv6ExtHdrFragment(nh=ICMPV4, id=3, offset=0, m=1) / body
    elif chain == "later-fragment":
        p6 = IPv6(src=H6, dst=H4_6) / IPv6ExtHdrFragment(nh=ICMPV4, id=3, offset=8, m=0) / Raw(PAYLOAD)
    else:
        p6 = IPv6(src=H6, dst=H4_6, nh=ICMPV4) / body
    dropped([], "6to4", frame6(p6), "drop-untranslatable-protocol")


# --- 3. ICMP errors whose quoted packet cannot be translated ------------------

def icmp4_error_quoting(inner):
    """Host Unreachable from router R4 about `inner`, a packet the IPv6 host sent."""
    return frame4(IP(src=R4, dst=H6_4) / ICMP(type=3, code=1) / inner)


def icmp6_error_quoting(inner):
    """Address Unreachable from the IPv6 host about `inner`, a packet of the IPv4 host."""
    return frame6(IPv6(src=H6, dst=H4_6) / ICMPv6DestUnreach(code=3) / inner)


@pytest.mark.parametrize("proto", IPV6_ONLY_IN_IPV4)
def test_icmp4_error_quoting_ipv6_only_protocol_dropped(proto):
    inner = IPerror(src=H6_4, dst=H4, proto=proto) / Raw(bytes(8))
    dropped([], "4to6", icmp4_error_quoting(inner), "drop-untranslatable-protocol")


def test_icmp6_error_quoting_icmpv4_dropped():
    inner = IPv6(src=H4_6, dst=H6, nh=ICMPV4) / ICMP(type=8, id=1, seq=1) / Raw(PAYLOAD)
    dropped([], "6to4", icmp6_error_quoting(inner), "drop-untranslatable-protocol")


@pytest.mark.parametrize("which", ["src", "dst"])
def test_icmp6_error_quoting_unmapped_address_dropped(which):
    """A quoted address outside every prefix and EAM has no IPv4 form."""
    src, dst = (("2001:db8:77::1", H6) if which == "src" else (H4_6, "2001:db8:77::1"))
    inner = IPv6(src=src, dst=dst) / UDP(sport=53, dport=40000) / Raw(PAYLOAD)
    dropped([], "6to4", icmp6_error_quoting(inner), "drop-not-translatable")


@pytest.mark.parametrize("which", ["src", "dst"])
def test_icmp4_error_quoting_unmapped_address_dropped(which):
    """With the well-known prefix, a private quoted address maps to nothing
    (RFC 6052 §3.1), though the outer addresses are global."""
    flags = ["--prefix", "64:ff9b::/96"]
    outer_src, outer_dst = "1.1.1.1", "9.9.9.9"     # global: the outer packet maps
    src, dst = (("10.0.0.1", "8.8.8.8") if which == "src" else (outer_dst, "10.0.0.1"))
    inner = IPerror(src=src, dst=dst) / UDPerror(sport=40000, dport=53) / Raw(PAYLOAD)
    f = frame4(IP(src=outer_src, dst=outer_dst) / ICMP(type=3, code=1) / inner)
    dropped(flags, "4to6", f, "drop-not-translatable")


def test_icmp4_error_quoting_translatable_packet_still_translated():
    """The rules above are not too wide: the same error about UDP comes through."""
    inner = IPerror(src=H6_4, dst=H4) / UDPerror(sport=40000, dport=53) / Raw(PAYLOAD)
    rv, out = xlat.shared().run("4to6", icmp4_error_quoting(inner))
    assert rv == TC_ACT_OK and out is not None
    assert IPv6(out[14:]).haslayer(ICMPv6DestUnreach)
