# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fragments (RFC 7915 §4.1, §5.1.1), splitting of DF=0 packets larger than
LowestIPv6MTU (the tail from a rerun marked NAT64_MARK_TAIL_FRAGMENT), and
packets too big for the egress MTU."""
import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6PacketTooBig, IPv6, IPv6ExtHdrFragment
from scapy.packet import Raw

import xlat
from pkt import (H4, H4_6, H6, H6_4, SELF4, SELF6, TC_ACT_SHOT, assert_frame, expect4, expect6,
                 expect_icmp4_error, expect_icmp6_error, frame4, frame6, generated_error, translate_ok,
                 udp_pair)
from xlat import MARK_TAIL_FRAGMENT

DATA = bytes((i * 31 + 7) & 0xFF for i in range(3000))


def l4_bytes(l3):
    """The L4 header and payload of a packet, checksummed by scapy for its family."""
    b = bytes(l3)
    return b[20:] if b[0] >> 4 == 4 else b[40:]


def udp_datagram(n):
    """The same UDP datagram (n data bytes) as L4 bytes over IPv6 and over IPv4,
    for the 6->4 direction (H6 -> H4)."""
    d6 = l4_bytes(IPv6(src=H6, dst=H4_6) / UDP(sport=40000, dport=53) / Raw(DATA[:n]))
    d4 = l4_bytes(IP(src=H6_4, dst=H4) / UDP(sport=40000, dport=53) / Raw(DATA[:n]))
    return d6, d4


def udp_datagram_4to6(n, proto=UDP):
    d6 = l4_bytes(IPv6(src=H4_6, dst=H6) / proto(sport=53, dport=40000) / Raw(DATA[:n]))
    d4 = l4_bytes(IP(src=H4, dst=H6_4) / proto(sport=53, dport=40000) / Raw(DATA[:n]))
    return d6, d4


# --- IPv6 Fragment header -> IPv4 ---------------------------------------------

@pytest.mark.parametrize("offset,m,start,length", [
    (0, 1, 0, 800),          # first
    (100, 1, 800, 800),      # middle
    (200, 0, 1600, 408),     # last
    (0, 1, 0, 1400),         # first, large: DF stays 0 for fragments
])
def test_fragment_6to4(offset, m, start, length):
    d6, d4 = udp_datagram(2000)
    assert len(d6) == 2008
    p6 = IPv6(src=H6, dst=H4_6, hlim=50, nh=44) / IPv6ExtHdrFragment(nh=17, offset=offset, m=m, id=0xABCD1234) / \
        Raw(d6[start:start + length])
    f = frame6(p6)
    got = translate_ok([], "6to4", f)
    p4 = IP(src=H6_4, dst=H4, ttl=50, id=0x1234, flags="MF" if m else 0, frag=offset, proto=17) / \
        Raw(d4[start:start + length])
    assert_frame(got, expect4(f, got, p4, copy_id=False))


@pytest.mark.parametrize("l4", ["udp", "tcp"])
def test_atomic_fragment_6to4(l4):
    """Offset 0, M 0 (RFC 8021 atomic fragment): ID low 16 bits, DF 0, whole L4 translated."""
    pair = udp_pair if l4 == "udp" else None
    if pair:
        p6, p4 = udp_pair(H6, H4_6, H6_4, H4)
        l4_6, l4_4 = p6[UDP], p4[UDP]
    else:
        l4_6 = TCP(sport=1, dport=2, flags="S") / Raw(b"abc")
        l4_4 = l4_6.copy()
    pf = IPv6(src=H6, dst=H4_6) / IPv6ExtHdrFragment(offset=0, m=0, id=0x11112222) / l4_6
    f = frame6(pf)
    got = translate_ok([], "6to4", f)
    p4 = IP(src=H6_4, dst=H4, id=0x2222, flags=0) / l4_4
    assert_frame(got, expect4(f, got, p4, copy_id=False))


# --- IPv4 fragments -> IPv6 Fragment header -------------------------------------

@pytest.mark.parametrize("offset,mf,start,length", [
    (0, 1, 0, 800),
    (100, 1, 800, 800),
    (200, 0, 1600, 408),
])
@pytest.mark.parametrize("proto", [UDP, TCP], ids=["udp", "tcp"])
def test_fragment_4to6(offset, mf, start, length, proto):
    d6, d4 = udp_datagram_4to6(2000, proto)
    pnum = 17 if proto is UDP else 6
    p4 = IP(src=H4, dst=H6_4, ttl=50, id=0xBEEF, flags="MF" if mf else 0, frag=offset, proto=pnum) / \
        Raw(d4[start:start + length])
    f = frame4(p4)
    p6 = IPv6(src=H4_6, dst=H6, hlim=50, nh=44) / IPv6ExtHdrFragment(nh=pnum, offset=offset, m=mf, id=0xBEEF) / \
        Raw(d6[start:start + length])
    assert_frame(translate_ok([], "4to6", f), expect6(f, p6))


def test_fragment_udp_zero_checksum_4to6_dropped():
    """RFC 7915 §4.5: a fragmented UDP datagram with checksum 0 cannot be fixed."""
    d = bytearray(udp_datagram_4to6(2000)[1])
    d[6:8] = b"\0\0"
    p4 = IP(src=H4, dst=H6_4, id=7, flags="MF", frag=0, proto=17) / Raw(bytes(d[:800]))
    t = xlat.shared()
    before = t.counters()
    rv, _ = t.run("4to6", frame4(p4))
    assert rv in (TC_ACT_SHOT, xlat.TC_ACT_REDIRECT)
    assert xlat.counter_delta(before, t.counters()).get("drop-udp-zero-checksum") == 1


# --- DF=0 and larger than LowestIPv6MTU: two fragments --------------------------

@pytest.mark.parametrize("tot_len,flags,head", [
    (1500, [], 1232),                                   # (1280 - 40 - 8) & ~7
    (1261, [], 1232),
    (1500, ["--lowest-ipv6-mtu", "1400"], 1352),
    (1500, ["--lowest-ipv6-mtu", "1500", "--mtu-v6", "1400"], 1352),
    (2000, ["--lowest-ipv6-mtu", "1500"], 1448),
])
def test_split_4to6(tot_len, flags, head):
    n = tot_len - 28
    d6, d4 = udp_datagram_4to6(n)
    p4 = IP(src=H4, dst=H6_4, ttl=40, tos=0x20, id=0x4242, flags=0) / Raw(d4)
    p4.proto = 17
    f = frame4(p4)
    first = translate_ok(flags, "4to6", f)
    second = translate_ok(flags, "4to6", f, mark=MARK_TAIL_FRAGMENT)
    hdr = dict(src=H4_6, dst=H6, hlim=40, tc=0x20, nh=44)
    assert_frame(first, expect6(f, IPv6(**hdr) / IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=0x4242) /
                                Raw(d6[:head])))
    assert_frame(second, expect6(f, IPv6(**hdr) / IPv6ExtHdrFragment(nh=17, offset=head // 8, m=0, id=0x4242) /
                                 Raw(d6[head:])))


@pytest.mark.parametrize("mf", [1, 0])
def test_split_fragment_4to6(mf):
    """An IPv4 fragment too large for 1280 is cut again; offsets add up."""
    d6, d4 = udp_datagram_4to6(2900)
    p4 = IP(src=H4, dst=H6_4, id=0x5151, flags="MF" if mf else 0, frag=100, proto=17) / Raw(d4[800:800 + 1400])
    f = frame4(p4)
    first = translate_ok([], "4to6", f)
    second = translate_ok([], "4to6", f, mark=MARK_TAIL_FRAGMENT)
    assert_frame(first, expect6(f, IPv6(src=H4_6, dst=H6, nh=44) /
                                IPv6ExtHdrFragment(nh=17, offset=100, m=1, id=0x5151) / Raw(d6[800:800 + 1232])))
    assert_frame(second, expect6(f, IPv6(src=H4_6, dst=H6, nh=44) /
                                 IPv6ExtHdrFragment(nh=17, offset=100 + 154, m=mf, id=0x5151) /
                                 Raw(d6[800 + 1232:800 + 1400])))


@pytest.mark.parametrize("tot_len", [1240, 1260])
def test_no_split_when_it_fits(tot_len):
    p6, p4 = udp_pair(H4_6, H6, H4, H6_4, payload=DATA[:tot_len - 28])
    f = frame4(p4)
    assert_frame(translate_ok([], "4to6", f), expect6(f, p6))


# --- Too big for the egress MTU --------------------------------------------------

@pytest.mark.parametrize("self4", [None, SELF4])
def test_df_too_big_4to6_frag_needed(self4):
    flags = ["--mtu-v6", "1400"] + (["--self-v4", self4] if self4 else [])
    _, p4 = udp_pair(H4_6, H6, H4, H6_4, payload=DATA[:1472])
    p4[IP].flags = "DF"
    f = frame4(p4)
    t = xlat.shared(*flags)
    before = t.counters()
    got = generated_error(flags, "4to6", f)
    exp = expect_icmp4_error(f, got, self4 or H6_4, H4, ICMP(type=3, code=4, nexthopmtu=1380), bytes(p4)[:548])
    assert_frame(got, exp)
    d = xlat.counter_delta(before, t.counters())
    assert d.get("drop-too-big") == 1 and d.get("icmp-errors-sent") == 1, d


def test_df_fits_mtu_4to6():
    p6, p4 = udp_pair(H4_6, H6, H4, H6_4, payload=DATA[:1352])
    p4[IP].flags = "DF"
    f = frame4(p4)
    assert_frame(translate_ok(["--mtu-v6", "1400"], "4to6", f), expect6(f, p6))


@pytest.mark.parametrize("self6", [None, SELF6])
def test_too_big_6to4_packet_too_big(self6):
    flags = ["--mtu-v4", "1400"] + (["--self-v6", self6] if self6 else [])
    p6, _ = udp_pair(H6, H4_6, H6_4, H4, payload=DATA[:1452])      # IPv4: 1480 bytes
    f = frame6(p6)
    t = xlat.shared(*flags)
    before = t.counters()
    got = generated_error(flags, "6to4", f)
    exp = expect_icmp6_error(f, self6 or H4_6, H6, ICMPv6PacketTooBig(mtu=1420), bytes(p6)[:1232])
    assert_frame(got, exp)
    d = xlat.counter_delta(before, t.counters())
    assert d.get("drop-too-big") == 1 and d.get("icmp-errors-sent") == 1, d


def test_small_df0_over_mtu_6to4_left_to_ipv4():
    """<= 1260 bytes: DF=0 (RFC 7915 §5.1), IPv4 routers may fragment it."""
    p6, p4 = udp_pair(H6, H4_6, H6_4, H4, payload=DATA[:1100])
    f = frame6(p6)
    got = translate_ok(["--mtu-v4", "1000"], "6to4", f)
    assert_frame(got, expect4(f, got, p4))


@pytest.mark.parametrize("tot_len", [1261, 1500])
def test_split_icmp_echo_4to6(tot_len):
    """ICMPv6's checksum covers a pseudo-header with the whole message length
    (RFC 4443 §2.3), not the first fragment's. Linux sends echo replies with
    DF=0, so a 1233+ byte ping through the seed hits this."""
    data = DATA[:tot_len - 28]
    p4 = IP(src=H4, dst=H6_4, id=0x0707, flags=0) / ICMP(type=0, id=9, seq=1) / Raw(data)
    from scapy.layers.inet6 import ICMPv6EchoReply
    full6 = l4_bytes(IPv6(src=H4_6, dst=H6) / ICMPv6EchoReply(id=9, seq=1, data=data))
    f = frame4(p4)
    first = translate_ok([], "4to6", f)
    second = translate_ok([], "4to6", f, mark=MARK_TAIL_FRAGMENT)
    assert_frame(first, expect6(f, IPv6(src=H4_6, dst=H6, nh=44) /
                                IPv6ExtHdrFragment(nh=58, offset=0, m=1, id=0x0707) / Raw(full6[:1232])))
    assert_frame(second, expect6(f, IPv6(src=H4_6, dst=H6, nh=44) /
                                 IPv6ExtHdrFragment(nh=58, offset=154, m=0, id=0x0707) / Raw(full6[1232:])))


@pytest.mark.parametrize("direction", ["6to4", "4to6"])
def test_fragmented_icmp_echo_dropped(direction):
    """The ICMPv6 checksum covers the message length, unknown in a first
    fragment: a fragmented echo cannot be translated without reassembly."""
    if direction == "6to4":
        from scapy.layers.inet6 import ICMPv6EchoRequest
        p = IPv6(src=H6, dst=H4_6) / IPv6ExtHdrFragment(m=1, id=3) / ICMPv6EchoRequest(id=1, data=DATA[:800])
        f = frame6(p)
    else:
        p = IP(src=H4, dst=H6_4, flags="MF", id=3) / ICMP(type=8, id=1) / Raw(DATA[:800])
        f = frame4(p)
    t = xlat.shared()
    before = t.counters()
    assert t.run(direction, f) == (TC_ACT_SHOT, None)
    assert xlat.counter_delta(before, t.counters()) == {"drop-fragment": 1}


# --- crafted fragments (the attacks of RFC 1858 and RFC 3128, RFC 5722) ------------

@pytest.mark.parametrize("proto, cut", [(6, 8), (6, 16), (17, 4), (1, 2), (6, 0)],
                         ids=["tcp-8", "tcp-16", "udp-4", "icmp-2", "tcp-empty"])
def test_tiny_first_fragment_4to6_dropped(proto, cut):
    """A first fragment too short for its L4 header (the checksum the translator
    must update is not in it): dropped and counted, never sent on with a stale
    checksum (RFC 1858 §3: no legitimate sender makes these)."""
    d = bytes(IP(src=H4, dst=H6_4, proto=proto) /
              (TCP(sport=53, dport=40000) if proto == 6 else UDP(sport=53, dport=40000) if proto == 17
               else ICMP(type=8)) / Raw(DATA[:100]))[20:]
    f = frame4(IP(src=H4, dst=H6_4, flags="MF", frag=0, id=0x77, proto=proto) / Raw(d[:cut]))
    t = xlat.shared()
    before = t.counters()
    assert t.run("4to6", f) == (TC_ACT_SHOT, None)
    assert set(xlat.counter_delta(before, t.counters())) <= {"drop-malformed", "drop-fragment"}


@pytest.mark.parametrize("nh, cut", [(6, 8), (6, 16), (17, 4), (58, 2), (6, 0)],
                         ids=["tcp-8", "tcp-16", "udp-4", "icmpv6-2", "tcp-empty"])
def test_tiny_first_fragment_6to4_dropped(nh, cut):
    d = bytes(IPv6(src=H6, dst=H4_6) /
              (TCP(sport=40000, dport=53) if nh == 6 else UDP(sport=40000, dport=53) if nh == 17
               else ICMPv6EchoRequest()) / Raw(DATA[:100]))[40:]
    f = frame6(IPv6(src=H6, dst=H4_6) / IPv6ExtHdrFragment(nh=nh, offset=0, m=1, id=0x77) / Raw(d[:cut]))
    t = xlat.shared()
    before = t.counters()
    assert t.run("6to4", f) == (TC_ACT_SHOT, None)
    assert set(xlat.counter_delta(before, t.counters())) <= {"drop-malformed", "drop-fragment"}


def test_overlapping_fragments_4to6_each_translated_as_itself():
    """Stateless: overlapping IPv4 fragments become IPv6 fragments with the
    same offsets and bytes, nothing merged or rewritten, so the IPv6 receiver
    sees the overlap and drops the datagram (RFC 5722)."""
    d6, d4 = udp_datagram_4to6(200)
    for offset, start, length in ((0, 0, 96), (8, 64, 96)):     # bytes 64..95 twice
        p4 = IP(src=H4, dst=H6_4, id=0x99, flags="MF", frag=offset, proto=17) / Raw(d4[start:start + length])
        f = frame4(p4)
        p6 = IPv6(src=H4_6, dst=H6, nh=44) / IPv6ExtHdrFragment(nh=17, offset=offset, m=1, id=0x99) / \
            Raw(d6[start:start + length])
        assert_frame(translate_ok([], "4to6", f), expect6(f, p6))
