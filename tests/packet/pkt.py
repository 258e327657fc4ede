# SPDX-License-Identifier: LGPL-2.1-or-later
"""Frame builders and assertions shared by the packet tests.

Topology of the seed (SIIT) mode: the IPv6 side sends from MAC_A to MAC_B
through the 6to4 program (egress of za), the IPv4 side from MAC_B to MAC_A
through 4to6 (ingress of za). Translated frames keep their MACs; generated
ICMP errors have them swapped.
"""
import struct
import time

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

import xlat
from xlat import MAC_A, MAC_B, TC_ACT_OK, TC_ACT_REDIRECT, TC_ACT_SHOT  # noqa: F401

P96 = xlat.DEFAULT_PREFIX
# The IPv6-side host (za's side) and the IPv4-side host (zb), default prefix
H6, H6_4 = "64:ff9b:1:fffe::c0a8:201", "192.168.2.1"
H4, H4_6 = "198.51.100.2", "64:ff9b:1:fffe::c633:6402"
# Routers that send errors
R6, R6_4 = "64:ff9b:1:fffe::c0a8:2fe", "192.168.2.254"
R4, R4_6 = "203.0.113.1", "64:ff9b:1:fffe::cb00:7101"
SELF6, SELF4 = "2001:db8:1c0:2:1::", "198.51.100.1"

PAYLOAD = bytes(range(7, 7 + 40))


def frame6(l3):
    """An IPv6 frame for the 6to4 program."""
    return bytes(Ether(src=MAC_A, dst=MAC_B, type=0x86DD) / l3)


def frame4(l3):
    """An IPv4 frame for the 4to6 program."""
    return bytes(Ether(src=MAC_B, dst=MAC_A, type=0x0800) / l3)


def eth_out(in_frame, ethertype, swapped=False):
    dst, src = in_frame[0:6], in_frame[6:12]
    if swapped:
        dst, src = src, dst
    return Ether(dst=_mac(dst), src=_mac(src), type=ethertype)


def _mac(b):
    return ":".join(f"{x:02x}" for x in b)


def run(flags, direction, frame, mark=0):
    return xlat.shared(*flags).run(direction, frame, mark)


def ipv4_id_of(frame, offset=14):
    return struct.unpack("!H", frame[offset + 4:offset + 6])[0]


def assert_frame(got, expected, check_checksums=True):
    """got (bytes) equals expected (a scapy packet or bytes), and every
    checksum in got is what scapy computes."""
    assert got is not None, "dropped"
    want = bytes(expected)
    assert got == want, xlat.hexdiff(got, want)
    if check_checksums:
        assert xlat.checksum_problems(got) == []


def expect4(in_frame, got, l3, copy_id=True):
    """Expected IPv4 output frame: MACs kept, l3 with id taken from got
    (RFC 7915 §5.1 leaves the Identification of unfragmented packets to the
    translator)."""
    if copy_id and got is not None and len(got) >= 34:
        l3 = l3.copy()
        l3[IP].id = ipv4_id_of(got)
    return eth_out(in_frame, 0x0800) / l3


def expect6(in_frame, l3):
    return eth_out(in_frame, 0x86DD) / l3


def translate_ok(flags, direction, frame, mark=0):
    rv, out = run(flags, direction, frame, mark)
    assert rv == TC_ACT_OK, f"retval {rv}"
    assert out is not None
    return out


def generated_error(flags, direction, frame):
    """Run a frame that must be answered with a generated ICMP error
    (TC_ACT_REDIRECT). Errors are rate limited per CPU (100/s): retry once
    after the window if this one was dropped."""
    rv, out = run(flags, direction, frame)
    if rv == TC_ACT_SHOT:
        time.sleep(1.05)
        rv, out = run(flags, direction, frame)
    assert rv == TC_ACT_REDIRECT, f"retval {rv}"
    return out


def expect_icmp4_error(in_frame, got, src, dst, icmp, quoted, ttl=64, tos=0, swapped=True):
    """A generated or translated ICMPv4 error: quoted is bytes (already
    truncated by the caller)."""
    l3 = IP(src=src, dst=dst, ttl=ttl, tos=tos, flags=0, id=ipv4_id_of(got)) / icmp / Raw(quoted)
    return eth_out(in_frame, 0x0800, swapped) / l3


def expect_icmp6_error(in_frame, src, dst, icmp6, quoted, hlim=64, tc=0, swapped=True):
    l3 = IPv6(src=src, dst=dst, hlim=hlim, tc=tc, fl=0) / icmp6 / Raw(quoted)
    return eth_out(in_frame, 0x86DD, swapped) / l3


def inner4_with_id(pkt4, got, inner_offset=14 + 28):
    """pkt4 with the Identification the translator chose for the quoted
    header (unfragmented quoted packets: the translator's choice)."""
    p = pkt4.copy()
    p[IP].id = ipv4_id_of(got, inner_offset)
    return p


def udp_pair(src6, dst6, src4, dst4, payload=PAYLOAD, sport=40000, dport=53, hlim=64, tc=0):
    """The same UDP datagram over IPv6 and over IPv4 (RFC 7915 §4.1/§5.1)."""
    p6 = IPv6(src=src6, dst=dst6, hlim=hlim, tc=tc, fl=0) / UDP(sport=sport, dport=dport) / Raw(payload)
    p4 = IP(src=src4, dst=dst4, ttl=hlim, tos=tc, flags=0, id=0) / UDP(sport=sport, dport=dport) / Raw(payload)
    return p6, p4


def tcp_pair(src6, dst6, src4, dst4, payload=PAYLOAD, sport=40000, dport=80, hlim=64, tc=0):
    p6 = IPv6(src=src6, dst=dst6, hlim=hlim, tc=tc, fl=0) / TCP(sport=sport, dport=dport, seq=1000, ack=2000,
                                                                flags="PA", window=512) / Raw(payload)
    p4 = IP(src=src4, dst=dst4, ttl=hlim, tos=tc, flags=0, id=0) / TCP(sport=sport, dport=dport, seq=1000,
                                                                      ack=2000, flags="PA", window=512) / Raw(payload)
    return p6, p4
