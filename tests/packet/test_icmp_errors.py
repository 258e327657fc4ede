# SPDX-License-Identifier: LGPL-2.1-or-later
"""ICMP errors (RFC 7915 §4.2-4.3, §5.2-5.3): type/code tables, pointers,
MTUs, the quoted packet translated, truncation, RFC 6791 sources, and the
ICMP types that have no equivalent."""
import pytest
from scapy.layers.inet import ICMP, IP, UDP, IPOption_Router_Alert
from scapy.layers.inet6 import (ICMPv6DestUnreach, ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6PacketTooBig,
                                ICMPv6ParamProblem, ICMPv6TimeExceeded, ICMPv6Unknown, IPv6,
                                IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop)
from scapy.packet import Raw

import xlat
from pkt import (H4, H4_6, H6, H6_4, PAYLOAD, R4, R4_6, R6, R6_4, TC_ACT_SHOT, assert_frame,
                 expect_icmp4_error, expect_icmp6_error, frame4, frame6, inner4_with_id, tcp_pair, translate_ok,
                 udp_pair)

ICMP4_ERROR_MAX = 576
ICMP6_ERROR_MAX = 1280


def icmp6_hdr(t, c, rest=0):
    """The ICMPv6 header scapy builds for type t (rest: MTU or pointer)."""
    if t == 1:
        return ICMPv6DestUnreach(code=c)
    if t == 2:
        return ICMPv6PacketTooBig(code=c, mtu=rest)
    if t == 3:
        return ICMPv6TimeExceeded(code=c)
    if t == 4:
        return ICMPv6ParamProblem(code=c, ptr=rest)
    return ICMPv6Unknown(type=t, code=c, msgbody=b"\0\0\0\0")


def icmp4_hdr(t, c, rest=0):
    if t == 3 and c == 4:
        return ICMP(type=3, code=4, nexthopmtu=rest)
    if t == 12:
        return ICMP(type=12, code=c, ptr=rest)
    return ICMP(type=t, code=c)


# The packet in error, for errors going IPv4 -> IPv6: it went 6->4 from H6 to H4
def inner_pair_4to6(payload=PAYLOAD, pair=udp_pair):
    return pair(H6, H4_6, H6_4, H4, payload=payload, hlim=61, tc=0x10)


# ... and for errors going IPv6 -> IPv4: it went 4->6 from H4 to H6
def inner_pair_6to4(payload=PAYLOAD, pair=udp_pair):
    return pair(H4_6, H6, H4, H6_4, payload=payload, hlim=61, tc=0x10)


def run_icmp4_error(t, c, rest, inner4, flags=(), src=R4, ttl=60, tos=0):
    """An ICMPv4 error from src to H6_4 quoting inner4, through 4to6."""
    f = frame4(IP(src=src, dst=H6_4, ttl=ttl, tos=tos) / icmp4_hdr(t, c, rest) / Raw(bytes(inner4)))
    return f, xlat.shared(*flags).run("4to6", f)


def run_icmp6_error(t, c, rest, inner6, flags=(), src=R6, hlim=60, tc=0):
    f = frame6(IPv6(src=src, dst=H4_6, hlim=hlim, tc=tc) / icmp6_hdr(t, c, rest) / Raw(bytes(inner6)))
    return f, xlat.shared(*flags).run("6to4", f)


# --- RFC 7915 §4.2: ICMPv4 -> ICMPv6 ----------------------------------------

ICMP4_TO_6 = [
    # (type, code, rest) -> (type, code, rest) or None (silently dropped)
    ((3, 0, 0), (1, 0, 0)), ((3, 1, 0), (1, 0, 0)),
    ((3, 2, 0), (4, 1, 6)),                        # protocol unreachable -> pointer to Next Header
    ((3, 3, 0), (1, 4, 0)),
    ((3, 4, 1400), (2, 0, 1420)),
    ((3, 5, 0), (1, 0, 0)), ((3, 6, 0), (1, 0, 0)), ((3, 7, 0), (1, 0, 0)), ((3, 8, 0), (1, 0, 0)),
    ((3, 9, 0), (1, 1, 0)), ((3, 10, 0), (1, 1, 0)),
    ((3, 11, 0), (1, 0, 0)), ((3, 12, 0), (1, 0, 0)),
    ((3, 13, 0), (1, 1, 0)),
    ((3, 14, 0), None),                            # host precedence violation
    ((3, 15, 0), (1, 1, 0)),
    ((3, 16, 0), None), ((3, 200, 0), None),
    ((11, 0, 0), (3, 0, 0)), ((11, 1, 0), (3, 1, 0)),
    ((12, 0, 12), (4, 0, 8)), ((12, 2, 16), (4, 0, 24)),
    ((12, 1, 0), None),                            # missing a required option
    ((4, 0, 0), None),                             # source quench
    ((5, 0, 0), None), ((5, 1, 0), None),          # redirect
]


@pytest.mark.parametrize("case,want", ICMP4_TO_6, ids=lambda v: "-".join(map(str, v)) if v else "drop")
def test_icmp4_error_mapping(case, want):
    p6, p4 = inner_pair_4to6()
    t4, c4, rest4 = case
    tr = xlat.shared()
    before = tr.counters()
    f, (rv, got) = run_icmp4_error(t4, c4, rest4, p4)
    if want is None:
        assert (rv, got) == (TC_ACT_SHOT, None)
        assert xlat.counter_delta(before, tr.counters()) == {"drop-unsupported-icmp": 1}
        return
    assert rv == 0
    t6, c6, rest6 = want
    assert_frame(got, expect_icmp6_error(f, R4_6, H6, icmp6_hdr(t6, c6, rest6), bytes(p6), hlim=60, swapped=False))
    assert xlat.counter_delta(before, tr.counters()) == {"packets-4to6": 1, "bytes-4to6": len(f)}


ICMP6_TO_4 = [
    ((1, 0, 0), (3, 1, 0)), ((1, 1, 0), (3, 10, 0)), ((1, 2, 0), (3, 1, 0)), ((1, 3, 0), (3, 1, 0)),
    ((1, 4, 0), (3, 3, 0)),
    ((1, 5, 0), None), ((1, 6, 0), None), ((1, 7, 0), None),
    ((2, 0, 1500), (3, 4, 1480)),
    ((3, 0, 0), (11, 0, 0)), ((3, 1, 0), (11, 1, 0)),
    ((4, 0, 7), (12, 0, 8)),
    ((4, 1, 40), (3, 2, 0)),                        # unrecognized next header -> protocol unreachable
    ((4, 2, 40), None),                             # unrecognized option
    ((0, 0, 0), None), ((5, 0, 0), None), ((100, 0, 0), None), ((127, 0, 0), None),
]


@pytest.mark.parametrize("case,want", ICMP6_TO_4, ids=lambda v: "-".join(map(str, v)) if v else "drop")
def test_icmp6_error_mapping(case, want):
    p6, p4 = inner_pair_6to4()
    t6, c6, rest6 = case
    tr = xlat.shared()
    before = tr.counters()
    f, (rv, got) = run_icmp6_error(t6, c6, rest6, p6)
    if want is None:
        assert (rv, got) == (TC_ACT_SHOT, None)
        assert xlat.counter_delta(before, tr.counters()) == {"drop-unsupported-icmp": 1}
        return
    assert rv == 0
    t4, c4, rest4 = want
    inner = inner4_with_id(p4, got)
    assert_frame(got, expect_icmp4_error(f, got, R6_4, H4, icmp4_hdr(t4, c4, rest4), bytes(inner), ttl=60,
                                         swapped=False))


# --- Parameter Problem pointers (Figure 3 and Figure 6) -----------------------

POINTER_4TO6 = {0: 0, 1: 1, 2: 4, 3: 4, 4: None, 5: None, 6: None, 7: None, 8: 7, 9: 6, 10: None, 11: None,
                12: 8, 13: 8, 14: 8, 15: 8, 16: 24, 17: 24, 18: 24, 19: 24, 20: None, 40: None, 255: None}


@pytest.mark.parametrize("code", [0, 2])
@pytest.mark.parametrize("ptr4", sorted(POINTER_4TO6))
def test_pointer_4to6(ptr4, code):
    p6, p4 = inner_pair_4to6()
    f, (rv, got) = run_icmp4_error(12, code, ptr4, p4)
    want = POINTER_4TO6[ptr4]
    if want is None:
        assert (rv, got) == (TC_ACT_SHOT, None)
        return
    assert_frame(got, expect_icmp6_error(f, R4_6, H6, ICMPv6ParamProblem(code=0, ptr=want), bytes(p6), hlim=60,
                                         swapped=False))


POINTER_6TO4 = {0: 0, 1: 1, 2: None, 3: None, 4: 2, 5: 2, 6: 9, 7: 8, 40: None, 41: None, 1000: None}
POINTER_6TO4.update({p: 12 for p in range(8, 24)})
POINTER_6TO4.update({p: 16 for p in range(24, 40)})


@pytest.mark.parametrize("ptr6", sorted(POINTER_6TO4))
def test_pointer_6to4(ptr6):
    p6, p4 = inner_pair_6to4()
    f, (rv, got) = run_icmp6_error(4, 0, ptr6, p6)
    want = POINTER_6TO4[ptr6]
    if want is None:
        assert (rv, got) == (TC_ACT_SHOT, None)
        return
    inner = inner4_with_id(p4, got)
    assert_frame(got, expect_icmp4_error(f, got, R6_4, H4, ICMP(type=12, code=0, ptr=want), bytes(inner), ttl=60,
                                         swapped=False))


# --- MTU of Packet Too Big / Fragmentation Needed ------------------------------

@pytest.mark.parametrize("mtu4,inner_len,flags,mtu6", [
    (1400, 1500, [], 1420),
    (1480, 1500, [], 1500),
    (1260, 1500, [], 1280),
    (1000, 1500, [], 1280),                         # 1280 floor
    (68, 1500, [], 1280),
    (9000, 9100, [], 9020),
    (0, 1500, [], 1512),                            # RFC 1191 plateaus: 1492 + 20
    (0, 1492, [], 1280),                            # greatest plateau *less than* 1492 is 1006
    (0, 2003, [], 2022),
    (0, 4000, [], 2022),
    (0, 8200, [], 8186),
    (0, 20000, [], 17934),
    (0, 600, [], 1280),
    (1400, 1500, ["--mtu-v6", "1300"], 1300),       # min(MTU + 20, IPv6 next hop MTU, IPv4 next hop MTU + 20)
    (1400, 1500, ["--mtu-v4", "1350"], 1370),
], ids=lambda v: str(v) if not isinstance(v, list) else "-".join(v) or "default")
def test_frag_needed_to_packet_too_big(mtu4, inner_len, flags, mtu6):
    """RFC 7915 §4.2: the quoted packet's Total Length picks the plateau."""
    p6, p4 = inner_pair_4to6(payload=bytes(inner_len - 28))
    p4[IP].flags = "DF"
    quoted4 = bytes(p4)[:ICMP4_ERROR_MAX - 28]
    f, (rv, got) = run_icmp4_error(3, 4, mtu4, Raw(quoted4), flags=flags)
    assert rv == 0
    assert_frame(got, expect_icmp6_error(f, R4_6, H6, ICMPv6PacketTooBig(mtu=mtu6), bytes(p6)[:len(quoted4) + 20],
                                         hlim=60, swapped=False))


@pytest.mark.parametrize("mtu6,flags,mtu4", [
    (1280, [], 1260),
    (1500, [], 1480),
    (9000, [], 8980),
    (100000, [], 65535),
    # RFC 7915 §5.2: minimum(MTU - 20, IPv4 next hop MTU, IPv6 next hop MTU - 20)
    (1500, ["--mtu-v4", "1400"], 1400),
    (1500, ["--mtu-v6", "1400"], 1380),
], ids=lambda v: str(v) if not isinstance(v, list) else "-".join(v) or "default")
def test_packet_too_big_to_frag_needed(mtu6, flags, mtu4):
    p6, p4 = inner_pair_6to4(payload=bytes(1400))
    quoted6 = bytes(p6)[:ICMP6_ERROR_MAX - 48]
    f, (rv, got) = run_icmp6_error(2, 0, mtu6, Raw(quoted6), flags=flags)
    assert rv == 0
    inner = inner4_with_id(p4, got)
    inner[IP].flags = "DF"      # 1428 > 1260 (RFC 7915 §5.1)
    assert_frame(got, expect_icmp4_error(f, got, R6_4, H4, ICMP(type=3, code=4, nexthopmtu=mtu4),
                                         bytes(inner)[:ICMP4_ERROR_MAX - 28], ttl=60, swapped=False))


# --- The quoted packet ---------------------------------------------------------

@pytest.mark.parametrize("kind", ["udp", "tcp", "echo-request", "echo-reply"])
def test_quoted_packet_4to6(kind):
    """Inner addresses, lengths, ports kept, L4 checksum adjusted (RFC 7915 §4.3)."""
    if kind in ("udp", "tcp"):
        p6, p4 = inner_pair_4to6(pair=udp_pair if kind == "udp" else tcp_pair)
    else:
        req = kind == "echo-request"
        p4 = IP(src=H6_4, dst=H4, ttl=61, tos=0x10) / ICMP(type=8 if req else 0, id=77, seq=5) / Raw(PAYLOAD)
        p6 = IPv6(src=H6, dst=H4_6, hlim=61, tc=0x10) / (ICMPv6EchoRequest if req else ICMPv6EchoReply)(
            id=77, seq=5, data=PAYLOAD)
    f, (rv, got) = run_icmp4_error(3, 3, 0, p4, ttl=33, tos=0x48)
    assert_frame(got, expect_icmp6_error(f, R4_6, H6, ICMPv6DestUnreach(code=4), bytes(p6), hlim=33, tc=0x48,
                                         swapped=False))


@pytest.mark.parametrize("kind", ["udp", "tcp", "echo-request", "echo-reply"])
def test_quoted_packet_6to4(kind):
    if kind in ("udp", "tcp"):
        p6, p4 = inner_pair_6to4(pair=udp_pair if kind == "udp" else tcp_pair)
    else:
        req = kind == "echo-request"
        p6 = IPv6(src=H4_6, dst=H6, hlim=61, tc=0x10) / (ICMPv6EchoRequest if req else ICMPv6EchoReply)(
            id=77, seq=5, data=PAYLOAD)
        p4 = IP(src=H4, dst=H6_4, ttl=61, tos=0x10, flags=0) / ICMP(type=8 if req else 0, id=77, seq=5) / Raw(PAYLOAD)
    f, (rv, got) = run_icmp6_error(1, 4, 0, p6, hlim=33)
    inner = inner4_with_id(p4, got)
    assert_frame(got, expect_icmp4_error(f, got, R6_4, H4, ICMP(type=3, code=3), bytes(inner), ttl=33,
                                         swapped=False))


def test_outer_traffic_class_copied_6to4():
    """RFC 7915 §5.3: the outer header of an error follows §5.1, TOS included."""
    p6, p4 = inner_pair_6to4()
    f, (rv, got) = run_icmp6_error(1, 4, 0, p6, tc=0xB8)
    inner = inner4_with_id(p4, got)
    assert_frame(got, expect_icmp4_error(f, got, R6_4, H4, ICMP(type=3, code=3), bytes(inner), ttl=60, tos=0xB8,
                                         swapped=False))


def test_quoted_ipv4_options_removed():
    p6, p4 = inner_pair_4to6()
    p4[IP].options = [IPOption_Router_Alert()]
    f = frame4(IP(src=R4, dst=H6_4, ttl=60, options=[IPOption_Router_Alert()]) / ICMP(type=3, code=3) /
               Raw(bytes(p4)))
    got = translate_ok([], "4to6", f)
    assert_frame(got, expect_icmp6_error(f, R4_6, H6, ICMPv6DestUnreach(code=4), bytes(p6), hlim=60, swapped=False))


def test_quoted_extension_headers_removed():
    p6, p4 = inner_pair_6to4()
    quoted = IPv6(src=H4_6, dst=H6, hlim=61, tc=0x10) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / p6[UDP]
    f, (rv, got) = run_icmp6_error(1, 4, 0, quoted)
    inner = inner4_with_id(p4, got)
    assert_frame(got, expect_icmp4_error(f, got, R6_4, H4, ICMP(type=3, code=3), bytes(inner), ttl=60,
                                         swapped=False))


def test_quoted_fragment_6to4():
    """A quoted first fragment: Identification low 16 bits, MF, offset; the UDP
    checksum (of the whole datagram) adjusted for the pseudo-header."""
    data = bytes(range(256)) * 2
    full6 = bytes((IPv6(src=H4_6, dst=H6) / UDP(sport=53, dport=40000) / Raw(data))[UDP])
    full4 = bytes((IP(src=H4, dst=H6_4) / UDP(sport=53, dport=40000) / Raw(data))[UDP])
    n = 96
    quoted = IPv6(src=H4_6, dst=H6, hlim=61, nh=44) / IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=0xAABBCCDD) / \
        Raw(full6[:n])
    f, (rv, got) = run_icmp6_error(1, 4, 0, quoted)
    inner = IP(src=H4, dst=H6_4, ttl=61, id=0xCCDD, flags="MF", frag=0, proto=17) / Raw(full4[:n])
    assert_frame(got, expect_icmp4_error(f, got, R6_4, H4, ICMP(type=3, code=3), bytes(inner), ttl=60,
                                         swapped=False))


def test_quoted_fragment_4to6():
    data = bytes(range(256)) * 2
    full6 = bytes((IPv6(src=H6, dst=H4_6) / UDP(sport=40000, dport=53) / Raw(data))[UDP])
    full4 = bytes((IP(src=H6_4, dst=H4) / UDP(sport=40000, dport=53) / Raw(data))[UDP])
    n = 96
    quoted = IP(src=H6_4, dst=H4, ttl=61, id=0x4321, flags="MF", frag=0, proto=17) / Raw(full4[:n])
    f, (rv, got) = run_icmp4_error(3, 3, 0, quoted)
    inner = IPv6(src=H6, dst=H4_6, hlim=61, nh=44) / IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=0x4321) / \
        Raw(full6[:n])
    assert_frame(got, expect_icmp6_error(f, R4_6, H6, ICMPv6DestUnreach(code=4), bytes(inner), hlim=60,
                                         swapped=False))


@pytest.mark.parametrize("declared,quoted_len", [(1500, 548), (1400, 1400), (3000, 1500)])
def test_truncated_to_1280_4to6(declared, quoted_len):
    """RFC 7915 §4.3 / RFC 4443 §2.4(c): the ICMPv6 error fits 1280 bytes; the
    quoted header keeps the original length."""
    p6, p4 = inner_pair_4to6(payload=bytes((i * 7) & 0xFF for i in range(declared - 28)))
    quoted4 = bytes(p4)[:quoted_len]
    f, (rv, got) = run_icmp4_error(3, 3, 0, Raw(quoted4))
    want_quoted = bytes(p6)[:min(quoted_len + 20, ICMP6_ERROR_MAX - 48)]
    assert len(got) <= 14 + ICMP6_ERROR_MAX
    assert_frame(got, expect_icmp6_error(f, R4_6, H6, ICMPv6DestUnreach(code=4), want_quoted, hlim=60,
                                         swapped=False))


@pytest.mark.parametrize("declared,quoted_len", [(1280, 1232), (600, 600), (2000, 1232), (500, 500)])
def test_truncated_to_576_6to4(declared, quoted_len):
    p6, p4 = inner_pair_6to4(payload=bytes((i * 5) & 0xFF for i in range(declared - 48)))
    quoted6 = bytes(p6)[:quoted_len]
    f, (rv, got) = run_icmp6_error(1, 4, 0, Raw(quoted6))
    inner = inner4_with_id(p4, got)
    if declared - 20 > 1260:
        inner[IP].flags = "DF"
    want_quoted = bytes(inner)[:min(quoted_len - 20, ICMP4_ERROR_MAX - 28)]
    assert len(got) <= 14 + ICMP4_ERROR_MAX
    assert_frame(got, expect_icmp4_error(f, got, R6_4, H4, ICMP(type=3, code=3), want_quoted, ttl=60,
                                         swapped=False))


@pytest.mark.parametrize("direction", ["4to6", "6to4"])
def test_error_about_error_dropped(direction):
    """An ICMP error quoting an ICMP error is not translated."""
    tr = xlat.shared()
    before = tr.counters()
    if direction == "4to6":
        _, p4 = inner_pair_4to6()
        inner = IP(src=H6_4, dst=H4) / ICMP(type=3, code=3) / Raw(bytes(p4)[:28])
        _, (rv, got) = run_icmp4_error(3, 1, 0, inner)
    else:
        p6, _ = inner_pair_6to4()
        inner = IPv6(src=H4_6, dst=H6) / ICMPv6DestUnreach(code=4) / Raw(bytes(p6)[:48])
        _, (rv, got) = run_icmp6_error(1, 0, 0, inner)
    assert (rv, got) == (TC_ACT_SHOT, None)
    assert xlat.counter_delta(before, tr.counters()) == {"drop-unsupported-icmp": 1}


# --- RFC 6791: errors from routers without a translatable address --------------

@pytest.mark.parametrize("flags,src4", [
    (["--rfc6791-v4", "203.0.113.8"], "203.0.113.8"),
    (["--rfc6791-v4", "203.0.113.8", "--self-v4", "198.51.100.1"], "203.0.113.8"),
])
@pytest.mark.parametrize("router", ["2001:db8:ffff::1", "4000::1"])
def test_rfc6791_source_6to4(flags, src4, router):
    p6, p4 = inner_pair_6to4()
    f, (rv, got) = run_icmp6_error(3, 0, 0, p6, flags=flags, src=router)
    inner = inner4_with_id(p4, got)
    assert_frame(got, expect_icmp4_error(f, got, src4, H4, ICMP(type=11, code=0), bytes(inner), ttl=60,
                                         swapped=False))


def test_untranslatable_source_not_error_dropped():
    t = xlat.shared("--rfc6791-v4", "203.0.113.8")
    before = t.counters()
    f = frame6(IPv6(src="2001:db8:ffff::1", dst=H4_6) / ICMPv6EchoRequest())
    assert t.run("6to4", f) == (TC_ACT_SHOT, None)
    assert xlat.counter_delta(before, t.counters()) == {"drop-not-translatable": 1}


def test_rfc6791_source_4to6():
    """EAM only (no prefix): an ICMPv4 error from a router outside every EAM
    gets the RFC 6791 IPv6 source."""
    flags = ["--no-prefix", "--eam", "2001:db8:3::/120,1.0.0.0/24", "--eam", "2001:db8:2::/120,10.0.0.0/24",
             "--rfc6791-v6", "2001:db8:1cb:71:8::"]
    inner6 = IPv6(src="2001:db8:3::5", dst="2001:db8:2::9", hlim=61) / UDP(sport=40000, dport=53) / Raw(PAYLOAD)
    inner4 = IP(src="1.0.0.5", dst="10.0.0.9", ttl=61) / UDP(sport=40000, dport=53) / Raw(PAYLOAD)
    f2 = frame4(IP(src="2.0.0.2", dst="1.0.0.5", ttl=60) / ICMP(type=3, code=3) / Raw(bytes(inner4)))
    rv, got = xlat.shared(*flags).run("4to6", f2)
    assert_frame(got, expect_icmp6_error(f2, "2001:db8:1cb:71:8::", "2001:db8:3::5", ICMPv6DestUnreach(code=4),
                                         bytes(inner6), hlim=60, swapped=False))


# --- ICMP types without an equivalent: dropped, counted ------------------------

@pytest.mark.parametrize("icmp_type", [6, 9, 10, 13, 14, 15, 16, 17, 18, 30, 37, 40, 253, 255])
def test_unsupported_icmp4_dropped(icmp_type):
    t = xlat.shared()
    before = t.counters()
    f = frame4(IP(src=H4, dst=H6_4) / ICMP(type=icmp_type, code=0) / Raw(PAYLOAD[:20]))
    assert t.run("4to6", f) == (TC_ACT_SHOT, None)
    assert xlat.counter_delta(before, t.counters()) == {"drop-unsupported-icmp": 1}


@pytest.mark.parametrize("icmp_type", [130, 131, 132, 133, 134, 135, 136, 137, 139, 140, 141, 143, 200, 255])
def test_unsupported_icmp6_dropped(icmp_type):
    t = xlat.shared()
    before = t.counters()
    f = frame6(IPv6(src=H6, dst=H4_6) / ICMPv6Unknown(type=icmp_type, code=0, msgbody=PAYLOAD[:20]))
    assert t.run("6to4", f) == (TC_ACT_SHOT, None)
    assert xlat.counter_delta(before, t.counters()) == {"drop-unsupported-icmp": 1}
