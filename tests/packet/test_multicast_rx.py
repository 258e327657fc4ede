# SPDX-License-Identifier: LGPL-2.1-or-later
"""Multicast the other way (bpf/lib/mcast.h): an IPv4 datagram to a mapped
group arriving on the WAN becomes IPv6 to the map's IPv6 group, from the
RFC 6052 form of its source, with the group's MAC (RFC 2464 §7) and the TTL
as hop limit (the kernel's IPv6 multicast routing counts the hop). Expected
frames are built with scapy from those rules; test-run frames arrive on the
loopback device of the tool's namespace, ifindex 1, which stands in for
the WAN here."""
import pytest
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

import xlat
from pkt import H4, H4_6, PAYLOAD, TC_ACT_OK, TC_ACT_REDIRECT, assert_frame, run

GROUP4, GROUP6 = "234.203.0.113", "ff3e:40:2001:db8:d0be:f00d:d09e:f00d"
GROUP6_MAC = "33:33:d0:9e:f0:0d"        # 33:33 + the group's low 32 bits
OTHER4, OTHER6 = "239.1.2.3", "ff35::1:2:3"
UNMAPPED4 = "234.203.0.114"
LO = "1"

MAPS = ["--mcast-rx", f"{GROUP4},{GROUP6}", "--mcast-rx", f"{OTHER4},{OTHER6}"]
RX = MAPS + ["--wan-ifindex", LO]


def mcast4(dst=GROUP4, ttl=8, tos=0, payload=PAYLOAD, l4=None):
    l4 = l4 if l4 is not None else UDP(sport=40000, dport=5004)
    src_mac = "02:00:00:00:00:0b"
    return bytes(Ether(src=src_mac, dst="01:00:5e:4b:00:71", type=0x0800) /
                 IP(src=H4, dst=dst, ttl=ttl, tos=tos, flags=0, id=7) / l4 / Raw(payload))


def expect_mcast6(in_frame, l3, mac=GROUP6_MAC):
    return Ether(dst=mac, src=in_frame[6:12].hex(":"), type=0x86DD) / l3


def deltas(flags, frame):
    t = xlat.shared(*flags)
    before = t.counters()
    rv, out = t.run("4to6", frame)
    return rv, out, xlat.counter_delta(before, t.counters())


@pytest.mark.parametrize("ttl,tos", [(2, 0), (8, 0), (64, 0xb8), (255, 0x28)])
def test_mapped_group_udp(ttl, tos):
    f = mcast4(ttl=ttl, tos=tos)
    rv, out, d = deltas(RX, f)
    assert rv == TC_ACT_OK
    want = expect_mcast6(f, IPv6(src=H4_6, dst=GROUP6, hlim=ttl, tc=tos, fl=0) /
                         UDP(sport=40000, dport=5004) / Raw(PAYLOAD))
    assert_frame(out, want)
    assert d == {"packets-4to6": 1, "bytes-4to6": len(f),
                 "multicast-4to6-packets": 1, "multicast-4to6-bytes": len(f)}, d


def test_second_map_and_zero_udp_checksum():
    """Each IPv4 group to its own IPv6 group; checksum 0 computed for IPv6 (RFC 7915 §4.5)."""
    f = bytearray(mcast4(dst=OTHER4))
    f[14 + 20 + 6:14 + 20 + 8] = b"\0\0"
    f = bytes(f)
    rv, out = run(RX, "4to6", f)
    assert rv == TC_ACT_OK
    want = expect_mcast6(f, IPv6(src=H4_6, dst=OTHER6, hlim=8, fl=0) / UDP(sport=40000, dport=5004) /
                         Raw(PAYLOAD), mac="33:33:00:02:00:03")
    assert_frame(out, want)


def test_icmp_echo_to_group():
    f = mcast4(l4=ICMP(type=8, id=0x1234, seq=3))
    rv, out = run(RX, "4to6", f)
    assert rv == TC_ACT_OK
    want = expect_mcast6(f, IPv6(src=H4_6, dst=GROUP6, hlim=8, fl=0) / ICMPv6EchoRequest(id=0x1234, seq=3) /
                         Raw(PAYLOAD))
    assert_frame(out, want)


def test_gateway_mode_redirects_to_translator_link():
    """As the daemon runs it: handed to the IPv6 stack of the translator link, same frame."""
    f = mcast4()
    rv, out = run(RX + ["--redirect"], "4to6", f)
    assert rv == TC_ACT_REDIRECT
    assert_frame(out, expect_mcast6(f, IPv6(src=H4_6, dst=GROUP6, hlim=8, fl=0) /
                                    UDP(sport=40000, dport=5004) / Raw(PAYLOAD)))


def test_unmapped_group_left_to_host():
    f = mcast4(dst=UNMAPPED4)
    rv, out, d = deltas(RX, f)
    assert rv == TC_ACT_OK and out == f
    assert d == {"packets-passed": 1, "multicast-4to6-unmapped": 1}, d


@pytest.mark.parametrize("dst", ["224.0.0.1", "224.0.0.251", "224.0.0.22", "255.255.255.255"])
def test_link_local_groups_and_broadcast_untouched(dst):
    """224.0.0.0/24 is never forwarded (RFC 5771 §4): the host's IGMP and
    friends, not counted as unmapped."""
    f = mcast4(dst=dst, ttl=1)
    rv, out, d = deltas(RX, f)
    assert rv == TC_ACT_OK and out == f
    assert d == {"packets-passed": 1}, d


def test_other_interface_untouched():
    """Only what arrives on the WAN: on another interface (a NAT46 LAN) the group is not ours."""
    f = mcast4()
    rv, out, d = deltas(MAPS + ["--wan-ifindex", "7"], f)
    assert rv == TC_ACT_OK and out == f
    assert d == {"packets-passed": 1}, d


def test_without_reverse_maps_untouched():
    f = mcast4()
    rv, out, d = deltas(["--wan-ifindex", LO], f)
    assert rv == TC_ACT_OK and out == f
    assert d == {"packets-passed": 1}, d


@pytest.mark.parametrize("ttl", [0, 1])
def test_router_mode_expired_ttl_dropped_silently(ttl):
    """Router mode (seed): the translator is the hop; never an ICMP error about a group."""
    f = mcast4(ttl=ttl)
    rv, out, d = deltas(RX + ["--router-mode"], f)
    assert out is None
    assert d == {"drop-ttl-expired": 1}, d


def test_router_mode_decrements():
    f = mcast4(ttl=5)
    rv, out = run(RX + ["--router-mode"], "4to6", f)
    assert rv == TC_ACT_OK
    assert_frame(out, expect_mcast6(f, IPv6(src=H4_6, dst=GROUP6, hlim=4, fl=0) /
                                    UDP(sport=40000, dport=5004) / Raw(PAYLOAD)))


def test_bad_header_checksum_dropped():
    f = bytearray(mcast4())
    f[14 + 10] ^= 0xff
    rv, out, d = deltas(RX, bytes(f))
    assert out is None
    assert d == {"drop-bad-checksum": 1}, d


def test_own_pool_address_as_source_is_spoofed():
    """What the LAN sent out as IPv4 (from IPv4Address=) and an upstream
    reflected is never taken back in: no loop through one map."""
    f = bytes(Ether(src="02:00:00:00:00:0b", dst="01:00:5e:4b:00:71") /
              IP(src="198.51.100.1", dst=GROUP4, ttl=8) / UDP(sport=40000, dport=5004) / Raw(PAYLOAD))
    rv, out, d = deltas(RX + ["--pool4", "198.51.100.1"], f)
    assert out is None
    assert d == {"drop-spoofed": 1}, d
