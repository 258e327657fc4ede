# SPDX-License-Identifier: LGPL-2.1-or-later
"""Address mapping: RFC 6052 prefixes of every length, several prefixes,
the Well-Known Prefix's rule for non-global IPv4, RFC 7757 EAM."""
import ipaddress

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.packet import Raw

import xlat
from pkt import (PAYLOAD, TC_ACT_SHOT, assert_frame, expect4, expect6, frame4, frame6, translate_ok,
                 udp_pair)

# RFC 6052 §2.4 table: 192.0.2.33 under each prefix length
RFC6052_EXAMPLES = [
    ("2001:db8::/32", "2001:db8:c000:221::"),
    ("2001:db8:100::/40", "2001:db8:1c0:2:21::"),
    ("2001:db8:122::/48", "2001:db8:122:c000:2:2100::"),
    ("2001:db8:122:300::/56", "2001:db8:122:3c0:0:221::"),
    ("2001:db8:122:344::/64", "2001:db8:122:344:c0:2:2100:0"),
    ("2001:db8:122:344::/96", "2001:db8:122:344::192.0.2.33"),
]


@pytest.mark.parametrize("prefix,v6", RFC6052_EXAMPLES)
def test_python_mapping_matches_rfc6052_table(prefix, v6):
    assert xlat.embed(prefix, "192.0.2.33") == ipaddress.IPv6Address(v6)
    assert xlat.extract(prefix, v6) == ipaddress.IPv4Address("192.0.2.33")


@pytest.mark.parametrize("prefix,v6", RFC6052_EXAMPLES)
def test_prefix_6to4(prefix, v6):
    """The RFC's own example address, as source, and a second one as destination."""
    other4 = "198.51.100.7"
    other6 = str(xlat.embed(prefix, other4))
    p6, p4 = udp_pair(v6, other6, "192.0.2.33", other4)
    f = frame6(p6)
    got = translate_ok(["--prefix", prefix], "6to4", f)
    assert_frame(got, expect4(f, got, p4))


@pytest.mark.parametrize("prefix,v6", RFC6052_EXAMPLES)
def test_prefix_4to6(prefix, v6):
    other4 = "198.51.100.7"
    other6 = str(xlat.embed(prefix, other4))
    p6, p4 = udp_pair(other6, v6, other4, "192.0.2.33")
    f = frame4(p4)
    got = translate_ok(["--prefix", prefix], "4to6", f)
    assert_frame(got, expect6(f, p6))


@pytest.mark.parametrize("prefix", [p for p, _ in RFC6052_EXAMPLES if not p.endswith("/96")])
def test_u_octet_ignored_6to4(prefix):
    """RFC 6052 §2.2: bits 64-71 are zero when built; a non-zero u octet on
    input is ignored (the suffix too)."""
    src4, dst4 = "192.0.2.33", "198.51.100.7"
    src6 = bytearray(xlat.embed(prefix, src4).packed)
    src6[8] = 0x5A      # u octet
    src6[15] |= 0x01    # suffix bits, past the IPv4 bits
    src6 = str(ipaddress.IPv6Address(bytes(src6)))
    p6, p4 = udp_pair(src6, str(xlat.embed(prefix, dst4)), src4, dst4)
    f = frame6(p6)
    got = translate_ok(["--prefix", prefix], "6to4", f)
    assert_frame(got, expect4(f, got, p4))


@pytest.mark.parametrize("prefix", [p for p, _ in RFC6052_EXAMPLES])
def test_u_octet_zero_4to6(prefix):
    out = translate_ok(["--prefix", prefix], "4to6", frame4(udp_pair("::", "::", "10.255.255.255", "255.1.2.3")[1]))
    ip6 = IPv6(out[14:])
    for a, v4 in ((ip6.src, "10.255.255.255"), (ip6.dst, "255.1.2.3")):
        assert ipaddress.IPv6Address(a).packed[8] == 0
        assert ipaddress.IPv6Address(a) == xlat.embed(prefix, v4)


MULTI = ["--prefix", "2001:db8:aaaa::/96", "--prefix", "2001:db8:100::/40", "--prefix", "2001:db8:bbbb::/64"]


@pytest.mark.parametrize("src_prefix,dst_prefix", [
    ("2001:db8:aaaa::/96", "2001:db8:100::/40"),
    ("2001:db8:bbbb::/64", "2001:db8:aaaa::/96"),
    ("2001:db8:100::/40", "2001:db8:bbbb::/64"),
])
def test_several_prefixes_6to4(src_prefix, dst_prefix):
    src4, dst4 = "192.0.2.33", "203.0.113.9"
    p6, p4 = udp_pair(str(xlat.embed(src_prefix, src4)), str(xlat.embed(dst_prefix, dst4)), src4, dst4)
    f = frame6(p6)
    got = translate_ok(MULTI, "6to4", f)
    assert_frame(got, expect4(f, got, p4))


def test_several_prefixes_4to6_uses_first():
    p6, p4 = udp_pair(str(xlat.embed("2001:db8:aaaa::/96", "203.0.113.9")),
                      str(xlat.embed("2001:db8:aaaa::/96", "192.0.2.33")), "203.0.113.9", "192.0.2.33")
    f = frame4(p4)
    assert_frame(translate_ok(MULTI, "4to6", f), expect6(f, p6))


def test_outside_every_prefix_dropped():
    t = xlat.shared(*MULTI)
    before = t.counters()
    p6, _ = udp_pair("2001:db8:cccc::1", str(xlat.embed("2001:db8:aaaa::/96", "192.0.2.1")), "0.0.0.0", "0.0.0.0")
    assert t.run("6to4", frame6(p6)) == (TC_ACT_SHOT, None)
    p6, _ = udp_pair(str(xlat.embed("2001:db8:aaaa::/96", "192.0.2.1")), "2001:db8:cccc::1", "0.0.0.0", "0.0.0.0")
    assert t.run("6to4", frame6(p6)) == (TC_ACT_SHOT, None)
    assert xlat.counter_delta(before, t.counters()) == {"drop-not-translatable": 2}


# --- 64:ff9b::/96 (RFC 6052 §3.1) -------------------------------------------

WKP = ["--prefix", "64:ff9b::/96"]
NON_GLOBAL = ["10.1.2.3", "127.0.0.1", "169.254.1.1", "172.16.5.4", "192.168.1.1", "100.64.0.1",
              "192.0.2.1", "198.18.0.1", "198.51.100.9", "203.0.113.9", "0.1.2.3", "240.0.0.1"]


@pytest.mark.parametrize("v4", NON_GLOBAL)
@pytest.mark.parametrize("direction", ["6to4", "4to6"])
@pytest.mark.parametrize("where", ["src", "dst"])
def test_wkp_non_global_dropped(v4, direction, where):
    t = xlat.shared(*WKP)
    good = "8.8.8.8"
    src4, dst4 = (v4, good) if where == "src" else (good, v4)
    p6, p4 = udp_pair(str(xlat.embed(xlat.WKP, src4)), str(xlat.embed(xlat.WKP, dst4)), src4, dst4)
    before = t.counters()
    f = frame6(p6) if direction == "6to4" else frame4(p4)
    assert t.run(direction, f) == (TC_ACT_SHOT, None)
    assert xlat.counter_delta(before, t.counters()) == {"drop-not-translatable": 1}


@pytest.mark.parametrize("src4,dst4", [("8.8.8.8", "1.1.1.1"), ("192.0.3.1", "203.0.114.1"), ("9.9.9.9", "100.128.0.1")])
def test_wkp_global_translated(src4, dst4):
    p6, p4 = udp_pair(str(xlat.embed(xlat.WKP, src4)), str(xlat.embed(xlat.WKP, dst4)), src4, dst4)
    f = frame6(p6)
    got = translate_ok(WKP, "6to4", f)
    assert_frame(got, expect4(f, got, p4))
    f = frame4(p4)
    assert_frame(translate_ok(WKP, "4to6", f), expect6(f, p6))


def test_local_use_prefix_carries_private_addresses():
    """PRODUCT.md: 64:ff9b:1:fffe::/96 (RFC 8215) may carry private IPv4."""
    p6, p4 = udp_pair("64:ff9b:1:fffe::a00:1", "64:ff9b:1:fffe::c0a8:101", "10.0.0.1", "192.168.1.1")
    f = frame6(p6)
    got = translate_ok([], "6to4", f)
    assert_frame(got, expect4(f, got, p4))
    f = frame4(p4)
    assert_frame(translate_ok([], "4to6", f), expect6(f, p6))


# --- RFC 7757 EAM ------------------------------------------------------------

EAM = ["--eam", "2001:db8:3::/120,1.0.0.0/24",
       "--eam", "64:ff9b:1:fffe::a00:0/120,1.2.3.0/24",          # inside the prefix: EAM wins 6->4
       "--eam", "2001:db8:4::/120,192.0.2.0/24",                 # IPv4 the prefix would map: EAM wins 4->6
       "--eam", "2001:db8:5::77/128,203.0.113.77/32"]


@pytest.mark.parametrize("src6,src4", [
    ("2001:db8:3::5", "1.0.0.5"),
    ("2001:db8:3::ff", "1.0.0.255"),
    ("64:ff9b:1:fffe::a00:9", "1.2.3.9"),       # not 10.0.0.9
    ("2001:db8:5::77", "203.0.113.77"),
])
def test_eam_6to4(src6, src4):
    p6, p4 = udp_pair(src6, "64:ff9b:1:fffe::c633:6402", src4, "198.51.100.2")
    f = frame6(p6)
    got = translate_ok(EAM, "6to4", f)
    assert_frame(got, expect4(f, got, p4))


@pytest.mark.parametrize("dst4,dst6", [
    ("1.0.0.5", "2001:db8:3::5"),
    ("192.0.2.33", "2001:db8:4::21"),           # not 64:ff9b:1:fffe::c000:221
    ("203.0.113.77", "2001:db8:5::77"),
    ("1.2.3.4", "64:ff9b:1:fffe::a00:4"),
])
def test_eam_4to6(dst4, dst6):
    p6, p4 = udp_pair("64:ff9b:1:fffe::c633:6402", dst6, "198.51.100.2", dst4)
    f = frame4(p4)
    assert_frame(translate_ok(EAM, "4to6", f), expect6(f, p6))


def test_eam_both_addresses():
    p6, p4 = udp_pair("2001:db8:3::5", "2001:db8:4::21", "1.0.0.5", "192.0.2.33")
    f = frame6(p6)
    got = translate_ok(EAM, "6to4", f)
    assert_frame(got, expect4(f, got, p4))
    f = frame4(p4)
    assert_frame(translate_ok(EAM, "4to6", f), expect6(f, p6))


def test_eam_only_without_prefix():
    """Jool's "pool6 none": EAM translates, the rest is dropped."""
    flags = ["--no-prefix"] + EAM
    p6, p4 = udp_pair("2001:db8:3::5", "2001:db8:4::21", "1.0.0.5", "192.0.2.33")
    f = frame6(p6)
    got = translate_ok(flags, "6to4", f)
    assert_frame(got, expect4(f, got, p4))
    t = xlat.shared(*flags)
    before = t.counters()
    p6, p4 = udp_pair("2001:db8:3::5", "64:ff9b:1:fffe::c633:6402", "1.0.0.5", "198.51.100.2")
    assert t.run("6to4", frame6(p6)) == (TC_ACT_SHOT, None)
    assert t.run("4to6", frame4(p4)) == (TC_ACT_SHOT, None)
    assert xlat.counter_delta(before, t.counters()) == {"drop-not-translatable": 2}


def test_ipv4_payload_untouched_by_mapping():
    """Other protocols (here GRE, 47) are translated at the IP level only."""
    p6 = IPv6(src="64:ff9b:1:fffe::c0a8:201", dst="64:ff9b:1:fffe::c633:6402", nh=47) / Raw(PAYLOAD)
    p4 = IP(src="192.168.2.1", dst="198.51.100.2", proto=47, flags=0) / Raw(PAYLOAD)
    f = frame6(p6)
    got = translate_ok([], "6to4", f)
    assert_frame(got, expect4(f, got, p4))
    f = frame4(IP(src="198.51.100.2", dst="192.168.2.1", proto=47, flags=0) / Raw(PAYLOAD))
    assert_frame(translate_ok([], "4to6", f), expect6(f, IPv6(src="64:ff9b:1:fffe::c633:6402",
                                                              dst="64:ff9b:1:fffe::c0a8:201", nh=47) / Raw(PAYLOAD)))


# --- RFC 7757 §4.2 intrinsic hairpinning (Jool's default, graybox 7915/ga1) ------

JOOL_EAM = ["--prefix", "2001:db8:100::/40", "--eam", "2001:db8:3::/120,1.0.0.0/24",
            "--eam", "2001:db8:2::/120,10.0.0.0/24"]


@pytest.mark.parametrize("router", [False, True], ids=["default", "router-mode"])
def test_intrinsic_hairpin(router):
    """EAM host 2001:db8:3::8 (1.0.0.8) sends to 1.0.0.9 written with the
    prefix (2001:db8:101:0:9::): 1.0.0.9 is EAM-owned, so the packet turns
    back to IPv6: source in prefix form, destination in EAM form, one hop."""
    flags = JOOL_EAM + (["--router-mode"] if router else [])
    p_in = IPv6(src="2001:db8:3::8", dst="2001:db8:101:0:9::", hlim=64) / UDP(sport=1000, dport=2000) / Raw(PAYLOAD)
    want = IPv6(src="2001:db8:101:0:8::", dst="2001:db8:3::9", hlim=63 if router else 64) / \
        UDP(sport=1000, dport=2000) / Raw(PAYLOAD)
    f = frame6(p_in)
    rv, got = xlat.shared(*flags).run("6to4", f)
    assert rv == xlat.TC_ACT_REDIRECT, f"retval {rv}: a hairpin goes back up toward IPv6"
    assert got[12:14] == b"\x86\xdd"
    assert got[14:] == bytes(want), xlat.hexdiff(got[14:], bytes(want))
    assert xlat.checksum_problems(got) == []


@pytest.mark.parametrize("flags", [JOOL_EAM, ["--no-prefix"] + JOOL_EAM[2:]], ids=["prefix", "no-prefix"])
def test_eam_destination_not_hairpinned(flags):
    """2001:db8:2::5 is the EAM form of 10.0.0.5, a host behind the IPv4 side:
    translated 6->4, not turned back."""
    p6, p4 = udp_pair("2001:db8:3::8", "2001:db8:2::5", "1.0.0.8", "10.0.0.5")
    f = frame6(p6)
    got = translate_ok(flags, "6to4", f)
    assert_frame(got, expect4(f, got, p4))
