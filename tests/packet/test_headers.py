# SPDX-License-Identifier: LGPL-2.1-or-later
"""RFC 7915 §4.1/§5.1 header rules, L4 (§4.5/§5.5), ICMP echo (§4.2/§5.2),
IPv6 extension headers and IPv4 options."""
import pytest
from scapy.layers.inet import ICMP, IP, UDP, IPOption_RR, IPOption_Router_Alert
from scapy.layers.inet6 import (ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ParamProblem, ICMPv6DestUnreach,
                                IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                                IPv6ExtHdrRouting, PadN)
from scapy.packet import Raw

import xlat
from pkt import (H4, H4_6, H6, H6_4, PAYLOAD, SELF4, SELF6, TC_ACT_OK, TC_ACT_SHOT, assert_frame, expect4,
                 expect6, expect_icmp4_error, expect_icmp6_error, frame4, frame6, generated_error,
                 tcp_pair, translate_ok, udp_pair)


# --- TCP, UDP, ICMP echo, both ways -------------------------------------------

@pytest.mark.parametrize("pair", [udp_pair, tcp_pair], ids=["udp", "tcp"])
@pytest.mark.parametrize("size", [0, 1, 40, 1001, 1200])
def test_l4_6to4(pair, size):
    p6, p4 = pair(H6, H4_6, H6_4, H4, payload=bytes((i * 7) & 0xFF for i in range(size)))
    f = frame6(p6)
    got = translate_ok([], "6to4", f)
    assert_frame(got, expect4(f, got, p4))


@pytest.mark.parametrize("pair", [udp_pair, tcp_pair], ids=["udp", "tcp"])
@pytest.mark.parametrize("size", [0, 1, 40, 1001, 1200])
def test_l4_4to6(pair, size):
    p6, p4 = pair(H4_6, H6, H4, H6_4, payload=bytes((i * 13) & 0xFF for i in range(size)))
    f = frame4(p4)
    assert_frame(translate_ok([], "4to6", f), expect6(f, p6))


@pytest.mark.parametrize("req", [True, False], ids=["request", "reply"])
@pytest.mark.parametrize("size", [0, 56, 1000])
def test_echo_6to4(req, size):
    data = bytes((i * 3) & 0xFF for i in range(size))
    cls6 = ICMPv6EchoRequest if req else ICMPv6EchoReply
    p6 = IPv6(src=H6, dst=H4_6) / cls6(id=0x1234, seq=7, data=data)
    p4 = IP(src=H6_4, dst=H4, flags=0) / ICMP(type=8 if req else 0, id=0x1234, seq=7) / Raw(data)
    f = frame6(p6)
    got = translate_ok([], "6to4", f)
    assert_frame(got, expect4(f, got, p4))


@pytest.mark.parametrize("req", [True, False], ids=["request", "reply"])
@pytest.mark.parametrize("size", [0, 56, 1000])
def test_echo_4to6(req, size):
    data = bytes((i * 5) & 0xFF for i in range(size))
    p4 = IP(src=H4, dst=H6_4) / ICMP(type=8 if req else 0, id=0xbeef, seq=9) / Raw(data)
    cls6 = ICMPv6EchoRequest if req else ICMPv6EchoReply
    p6 = IPv6(src=H4_6, dst=H6) / cls6(id=0xbeef, seq=9, data=data)
    f = frame4(p4)
    assert_frame(translate_ok([], "4to6", f), expect6(f, p6))


@pytest.mark.parametrize("direction", ["6to4", "4to6"])
@pytest.mark.parametrize("delta", [1, -1, 0x100])
def test_wrong_l4_checksum_stays_wrong_by_the_same_amount(direction, delta):
    """A stateless translator adjusts checksums incrementally: an input that
    is off by delta gives an output off by delta (Jool's csumfail vectors)."""
    if direction == "6to4":
        p_in, p_out = udp_pair(H6, H4_6, H6_4, H4)
    else:
        p_out, p_in = udp_pair(H4_6, H6, H4, H6_4)
    good_in = bytes(p_in)
    bad = p_in.copy()
    bad[UDP].chksum = ones_add(p_in.__class__(good_in)[UDP].chksum, delta)
    f = frame6(bad) if direction == "6to4" else frame4(bad)
    got = translate_ok([], direction, f)
    want_sum = p_out.__class__(bytes(p_out))[UDP].chksum
    want = p_out.copy()
    want[UDP].chksum = ones_add(want_sum, delta)
    exp = expect4(f, got, want) if direction == "6to4" else expect6(f, want)
    assert_frame(got, exp, check_checksums=False)


def ones_add(a, b):
    s = (a + b) & 0x1FFFF if b >= 0 else a + (b & 0xFFFF)
    s = (s & 0xFFFF) + (s >> 16)
    return s & 0xFFFF


# --- UDP checksum 0 (RFC 7915 §4.5) -------------------------------------------

@pytest.mark.parametrize("size", [0, 13, 1000])
def test_udp_zero_checksum_computed(size):
    data = bytes((i * 11) & 0xFF for i in range(size))
    p6, p4 = udp_pair(H4_6, H6, H4, H6_4, payload=data)
    p4[UDP].chksum = 0
    f = frame4(p4)
    assert_frame(translate_ok([], "4to6", f), expect6(f, p6))


def test_udp_zero_checksum_computed_as_ffff():
    """RFC 768: a computed checksum of 0 goes out as 0xffff."""
    p6, p4 = udp_pair(H4_6, H6, H4, H6_4, payload=b"\0\0" + PAYLOAD)
    c0 = IPv6(bytes(p6))[UDP].chksum
    data = c0.to_bytes(2, "big") + PAYLOAD        # makes the sum 0xffff: checksum 0
    p6, p4 = udp_pair(H4_6, H6, H4, H6_4, payload=data)
    assert IPv6(bytes(p6))[UDP].chksum == 0xFFFF
    p4[UDP].chksum = 0
    f = frame4(p4)
    assert_frame(translate_ok([], "4to6", f), expect6(f, p6))


@pytest.mark.parametrize("self4", [None, SELF4])
def test_udp_zero_checksum_drop(self4):
    flags = ["--udp-zero-drop"] + (["--self-v4", self4] if self4 else [])
    _, p4 = udp_pair(H4_6, H6, H4, H6_4)
    p4[UDP].chksum = 0
    f = frame4(p4)
    t = xlat.shared(*flags)
    before = t.counters()
    got = generated_error(flags, "4to6", f)
    # ICMP 3/13 (communication administratively prohibited) back to the sender
    exp = expect_icmp4_error(f, got, self4 or H6_4, H4, ICMP(type=3, code=13), bytes(p4))
    assert_frame(got, exp)
    d = xlat.counter_delta(before, t.counters())
    assert d.get("drop-udp-zero-checksum") == 1 and d.get("icmp-errors-sent") == 1, d


def test_udp_nonzero_checksum_with_zero_drop_translated():
    p6, p4 = udp_pair(H4_6, H6, H4, H6_4)
    f = frame4(p4)
    assert_frame(translate_ok(["--udp-zero-drop"], "4to6", f), expect6(f, p6))


# --- Traffic class / TOS, flow label, TTL -------------------------------------

@pytest.mark.parametrize("tc", [0x00, 0x2E, 0xB8, 0xFF])
def test_traffic_class_copied_6to4(tc):
    p6, p4 = udp_pair(H6, H4_6, H6_4, H4, tc=tc)
    p6[IPv6].fl = 0xABCDE
    f = frame6(p6)
    got = translate_ok([], "6to4", f)
    assert_frame(got, expect4(f, got, p4))


@pytest.mark.parametrize("tos", [0x00, 0x2E, 0xB8, 0xFF])
def test_tos_copied_flow_label_zero_4to6(tos):
    p6, p4 = udp_pair(H4_6, H6, H4, H6_4, tc=tos)
    f = frame4(p4)
    assert_frame(translate_ok([], "4to6", f), expect6(f, p6))


@pytest.mark.parametrize("ttl", [1, 2, 64, 255])
def test_ttl_not_decremented_by_default(ttl):
    p6, p4 = udp_pair(H6, H4_6, H6_4, H4, hlim=ttl)
    f = frame6(p6)
    got = translate_ok([], "6to4", f)
    assert_frame(got, expect4(f, got, p4))
    p6, p4 = udp_pair(H4_6, H6, H4, H6_4, hlim=ttl)
    f = frame4(p4)
    assert_frame(translate_ok([], "4to6", f), expect6(f, p6))


# --- DF (RFC 7915 §5.1): set only when the IPv4 packet exceeds 1260 bytes ----

@pytest.mark.parametrize("tot_len,df", [(1259, False), (1260, False), (1261, True), (1400, True)])
def test_df_rule_6to4(tot_len, df):
    p6, p4 = udp_pair(H6, H4_6, H6_4, H4, payload=bytes(tot_len - 28))
    if df:
        p4[IP].flags = "DF"
    f = frame6(p6)
    got = translate_ok([], "6to4", f)
    assert len(got) == 14 + tot_len
    assert_frame(got, expect4(f, got, p4))


@pytest.mark.parametrize("df", [True, False])
def test_no_fragment_header_when_not_needed_4to6(df):
    """RFC 7915 §4.1: no Fragment header for unfragmented packets that fit
    (the atomic fragments of RFC 6145 are gone, RFC 8021)."""
    p6, p4 = udp_pair(H4_6, H6, H4, H6_4, payload=bytes(1000))
    p4[IP].flags = "DF" if df else 0
    p4[IP].id = 0x7777
    f = frame4(p4)
    assert_frame(translate_ok([], "4to6", f), expect6(f, p6))


def test_df_large_packet_not_fragmented_without_mtu_4to6():
    """DF=1 and larger than 1280: sent whole (no MTU known, --mtu-v6 0)."""
    p6, p4 = udp_pair(H4_6, H6, H4, H6_4, payload=bytes(1472))
    p4[IP].flags = "DF"
    f = frame4(p4)
    assert_frame(translate_ok([], "4to6", f), expect6(f, p6))


# --- IPv4 options (RFC 7915 §4.1: ignored) ------------------------------------

@pytest.mark.parametrize("options", [
    [IPOption_Router_Alert()],
    [IPOption_RR(routers=["10.0.0.1", "10.0.0.2"])],
    [Raw(b"\x01\x01\x01\x00")],
    [Raw(b"\x01" * 40)],
], ids=["router-alert", "record-route", "nop", "40-bytes"])
def test_ipv4_options_skipped(options):
    p6, p4 = udp_pair(H4_6, H6, H4, H6_4)
    p4[IP].options = options
    assert p4.__class__(bytes(p4))[IP].ihl > 5
    f = frame4(p4)
    assert_frame(translate_ok([], "4to6", f), expect6(f, p6))


def test_bad_ipv4_header_checksum_dropped():
    _, p4 = udp_pair(H4_6, H6, H4, H6_4)
    b = bytearray(bytes(p4))
    b[10] ^= 0x01
    t = xlat.shared()
    before = t.counters()
    assert t.run("4to6", frame4(Raw(bytes(b)))) == (TC_ACT_SHOT, None)
    assert xlat.counter_delta(before, t.counters()) == {"drop-bad-checksum": 1}


@pytest.mark.parametrize("direction,cut", [("6to4", 1), ("6to4", 30), ("4to6", 1), ("4to6", 10)])
def test_truncated_dropped_malformed(direction, cut):
    p6, p4 = udp_pair(H6, H4_6, H6_4, H4) if direction == "6to4" else udp_pair(H4_6, H6, H4, H6_4)
    f = (frame6(p6) if direction == "6to4" else frame4(p4))[:-cut]
    t = xlat.shared()
    before = t.counters()
    assert t.run(direction, f) == (TC_ACT_SHOT, None)
    assert xlat.counter_delta(before, t.counters()) == {"drop-malformed": 1}


# --- IPv6 extension headers (RFC 7915 §5.1) -----------------------------------

def _ext(kind):
    if kind == "hbh":
        return IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\0\0\0\0")])
    if kind == "dst":
        return IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\0" * 12)])
    if kind == "rt0":
        return IPv6ExtHdrRouting(type=0, segleft=0, addresses=["2001:db8::1"])
    if kind == "srh":
        return IPv6ExtHdrRouting(type=4, segleft=0, addresses=[])
    raise ValueError(kind)


@pytest.mark.parametrize("chain", [["hbh"], ["dst"], ["rt0"], ["srh"], ["hbh", "dst", "rt0", "dst"],
                                   ["hbh", "rt0"]], ids=lambda c: "-".join(c))
@pytest.mark.parametrize("l4", ["udp", "tcp", "icmp"])
def test_extension_headers_skipped(chain, l4):
    if l4 == "icmp":
        inner6 = ICMPv6EchoRequest(id=1, seq=2, data=PAYLOAD)
        out4 = ICMP(type=8, id=1, seq=2) / Raw(PAYLOAD)
    else:
        pair = udp_pair if l4 == "udp" else tcp_pair
        p6, p4 = pair(H6, H4_6, H6_4, H4)
        inner6, out4 = p6[IPv6].payload, p4[IP].payload
    p6 = IPv6(src=H6, dst=H4_6)
    for k in chain:
        p6 = p6 / _ext(k)
    p6 = p6 / inner6
    f = frame6(p6)
    got = translate_ok([], "6to4", f)
    assert_frame(got, expect4(f, got, IP(src=H6_4, dst=H4, flags=0) / out4))


def _chain(n, last):
    p = IPv6(src=H6, dst=H4_6) / IPv6ExtHdrHopByHop()
    for _ in range(n - 1):
        p = p / IPv6ExtHdrDestOpt()
    return p / last


def test_eight_extension_headers_translated():
    p6, p4 = udp_pair(H6, H4_6, H6_4, H4)
    f = frame6(_chain(8, p6[UDP]))
    got = translate_ok([], "6to4", f)
    assert_frame(got, expect4(f, got, p4))


@pytest.mark.parametrize("n", [9, 12, 30])
def test_long_extension_header_chain_dropped(n):
    p6, _ = udp_pair(H6, H4_6, H6_4, H4)
    t = xlat.shared()
    before = t.counters()
    assert t.run("6to4", frame6(_chain(n, p6[UDP]))) == (TC_ACT_SHOT, None)
    assert xlat.counter_delta(before, t.counters()) == {"drop-ext-header": 1}


@pytest.mark.parametrize("before_rt,ptr", [([], 43), (["hbh"], 51), (["hbh", "dst"], 67)])
@pytest.mark.parametrize("self6", [None, SELF6])
def test_routing_segments_left_param_problem(before_rt, ptr, self6):
    """RFC 7915 §5.1: Segments Left != 0 -> ICMPv6 Parameter Problem,
    code 0, pointer at the Segments Left field."""
    flags = ["--self-v6", self6] if self6 else []
    p6 = IPv6(src=H6, dst=H4_6)
    for k in before_rt:
        p6 = p6 / _ext(k)
    p6 = p6 / IPv6ExtHdrRouting(type=0, segleft=1, addresses=["64:ff9b:1:fffe::c633:6403"]) / UDP() / Raw(PAYLOAD)
    f = frame6(p6)
    t = xlat.shared(*flags)
    before = t.counters()
    got = generated_error(flags, "6to4", f)
    exp = expect_icmp6_error(f, self6 or H4_6, H6, ICMPv6ParamProblem(code=0, ptr=ptr), bytes(p6))
    assert_frame(got, exp)
    d = xlat.counter_delta(before, t.counters())
    assert d.get("drop-ext-header") == 1 and d.get("icmp-errors-sent") == 1, d


@pytest.mark.parametrize("after", ["dst", "hbh", "rt0"])
def test_header_after_fragment_unreachable(after):
    """An extension header after the Fragment header -> ICMPv6 1/1 (Jool)."""
    p6 = IPv6(src=H6, dst=H4_6) / IPv6ExtHdrFragment(id=5, offset=0, m=0) / _ext(after) / UDP() / Raw(PAYLOAD)
    f = frame6(p6)
    t = xlat.shared("--self-v6", SELF6)
    before = t.counters()
    got = generated_error(["--self-v6", SELF6], "6to4", f)
    exp = expect_icmp6_error(f, SELF6, H6, ICMPv6DestUnreach(code=1), bytes(p6))
    assert_frame(got, exp)
    d = xlat.counter_delta(before, t.counters())
    assert d.get("drop-ext-header") == 1, d


def test_generated_icmpv6_error_truncated_to_1280():
    p6 = IPv6(src=H6, dst=H4_6) / IPv6ExtHdrRouting(segleft=1, addresses=["::1"]) / UDP() / Raw(bytes(1400))
    f = frame6(p6)
    got = generated_error(["--self-v6", SELF6], "6to4", f)
    assert len(got) == 14 + 1280
    exp = expect_icmp6_error(f, SELF6, H6, ICMPv6ParamProblem(code=0, ptr=43), bytes(p6)[:1280 - 48])
    assert_frame(got, exp)


# --- Not for the translator: passed untouched ---------------------------------

@pytest.mark.parametrize("direction,frame", [
    ("6to4", bytes.fromhex("02000000000b02000000000a0806") + bytes(28)),              # ARP
    ("4to6", bytes.fromhex("02000000000a02000000000b0806") + bytes(28)),
    ("6to4", frame4(IP(src=H6_4, dst=H4) / UDP())),                                   # IPv4 on 6to4
    ("4to6", frame6(IPv6(src=H4_6, dst=H6) / UDP())),                                 # IPv6 on 4to6
    ("6to4", frame6(IPv6(src="fe80::1", dst=H4_6) / UDP())),                          # link-local
    ("6to4", frame6(IPv6(src=H6, dst="ff02::1") / ICMPv6EchoRequest())),              # link-scope mcast
], ids=["arp-6to4", "arp-4to6", "ipv4-on-6to4", "ipv6-on-4to6", "link-local", "ff02"])
def test_not_ours_passed(direction, frame):
    t = xlat.shared()
    before = t.counters()
    assert t.run(direction, frame) == (TC_ACT_OK, frame)
    assert xlat.counter_delta(before, t.counters()) == {"packets-passed": 1}
