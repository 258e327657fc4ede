#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fuzz smoke for the translator through BPF_PROG_TEST_RUN.

    fuzz_xlat.py [--packets N] [--seed S] [--batch 20000] [--jobs J]
                 [--write-corpus] [--no-save]

Seeds: frames built with scapy (the packet tests' kinds of packet, for each
configuration's addresses), Jool's graybox vectors (shared/conformance,
with an Ethernet header) and tests/fuzz/corpus/*.hex. Mutations, on bytes
(fast): truncation, bit flips, length-field lies, random IPv6 extension
header chains, nested ICMP errors, IPv4 options, splices, random bytes;
checksums re-fixed half of the time so that mutants get past the checks.

Properties checked on every answer:
  * the verdict is TC_ACT_OK, TC_ACT_SHOT or TC_ACT_REDIRECT; the tool
    answers every line and exits 0;
  * a frame returned with TC_ACT_OK is either the input untouched (passed)
    or a translation into the other family; TC_ACT_REDIRECT carries an ICMP
    error of the input's family back to its source;
  * every output frame is well formed: EtherType, version, lengths, IPv4
    header checksum; its L4 checksum is valid when the input's was, and
    wrong by the same amount when the input's was wrong (translation is
    incremental);
  * addresses (outer and quoted) are the RFC 6052 / EAM mapping of the
    input's, computed here with Python's ipaddress (tests/lib/xlat.py).
Failing inputs are saved to tests/fuzz/crashes/ (one file each: config,
direction, mark, hex, reason). Exit status 1 when a property failed.
"""
import argparse
import collections
import hashlib
import ipaddress
import os
import random
import struct
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))

import xlat  # noqa: E402

CRASH_DIR = HERE / "crashes"
CORPUS_DIR = HERE / "corpus"
JOOL_DIR = Path(os.environ.get("NAT64_SHARED_DIR", xlat.ROOT.parent / "shared")) / "conformance" / "jool-graybox" / "siit"
JOOL_DIR_ALT = Path("/work/shared/conformance/jool-graybox/siit")

MAC_A = bytes.fromhex("02000000000a")
MAC_B = bytes.fromhex("02000000000b")
ETH6 = MAC_B + MAC_A + b"\x86\xdd"
ETH4 = MAC_A + MAC_B + b"\x08\x00"
# BPF_PROG_TEST_RUN takes at most about a page less skb overhead (~3.7 KB here)
MAX_FRAME = 3500


# ---------------------------------------------------------------------------
# Configurations: flags for the tool and the same facts for the checker

class Config:
    def __init__(self, name, prefixes=(), eams=(), rfc6791_v4=None, rfc6791_v6=None, self_v4=None,
                 self_v6=None, extra=(), no_prefix=False, pool4=(), port_range=None):
        self.name = name
        self.flags = []
        for p in prefixes:
            self.flags += ["--prefix", p]
        if no_prefix:
            self.flags.append("--no-prefix")
        for a, b in eams:
            self.flags += ["--eam", f"{a},{b}"]
        for opt, v in (("--rfc6791-v4", rfc6791_v4), ("--rfc6791-v6", rfc6791_v6), ("--self-v4", self_v4),
                       ("--self-v6", self_v6)):
            if v:
                self.flags += [opt, v]
        for a in pool4:
            self.flags += ["--pool4", a]
        if port_range:
            self.flags += ["--port-range", f"{port_range[0]}-{port_range[1]}"]
        self.flags += list(extra)
        self.mapper = xlat.Mapper(() if no_prefix else (prefixes or (xlat.DEFAULT_PREFIX,)), eams)
        self.prefix = None if no_prefix else ipaddress.IPv6Network((prefixes or (xlat.DEFAULT_PREFIX,))[0])
        self.err_src4 = {ipaddress.IPv4Address(a) for a in (rfc6791_v4 or self_v4 or "0.0.0.0",)}
        self.err_src6 = {ipaddress.IPv6Address(a) for a in (rfc6791_v6 or self_v6 or "::",)}
        self.self_v4 = ipaddress.IPv4Address(self_v4) if self_v4 else None
        self.self_v6 = ipaddress.IPv6Address(self_v6) if self_v6 else None
        self.pool4 = [ipaddress.IPv4Address(a) for a in pool4]
        self.router = "--router-mode" in self.flags
        self.udp_zero_drop = "--udp-zero-drop" in self.flags


CONFIGS = [
    Config("default"),
    Config("jool", prefixes=("2001:db8:100::/40",),
           eams=(("2001:db8:3::/120", "1.0.0.0/24"), ("2001:db8:2::/120", "10.0.0.0/24")),
           rfc6791_v4="203.0.113.8", self_v6="2001:db8:1c0:2:1::", self_v4="198.51.100.1",
           extra=("--mtu-v6", "1500", "--mtu-v4", "1500")),
    Config("router", prefixes=("64:ff9b::/96", "2001:db8::/32", "2001:db8:122:344::/64"),
           self_v6="2001:db8:ffff::1", self_v4="192.0.2.250", rfc6791_v6="2001:db8:6791::1",
           pool4=("198.51.100.1",), port_range=(32768, 65535),
           extra=("--router-mode", "--udp-zero-drop", "--lowest-ipv6-mtu", "1400", "--mtu-v4", "1400",
                  "--mtu-v6", "1450")),
]
CONFIG_BY_NAME = {c.name: c for c in CONFIGS}


# ---------------------------------------------------------------------------
# One's complement arithmetic and a small parser (independent of scapy, fast)

def csum_sum(data, init=0):
    if len(data) & 1:
        data = data + b"\0"
    s = init + sum(memoryview(data).cast("H"))     # native order: consistent everywhere here
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def csum(data, init=0):
    return (~csum_sum(data, init)) & 0xFFFF


def pseudo_sum(src, dst, length, proto):
    if len(src) == 4:
        return csum_sum(src + dst + struct.pack("!BBH", 0, proto, length))
    return csum_sum(src + dst + struct.pack("!IxxxB", length, proto))


EXT_HEADERS = (0, 43, 60)
# Protocol numbers without a counterpart in the other family: never
# translated, outer or quoted (ICMPv6 and the extension header numbers in
# IPv4, ICMPv4 in IPv6).
NO_COUNTERPART = {4: (0, 43, 44, 58, 60), 6: (1,)}


class Parsed:
    __slots__ = ("family", "src", "dst", "proto", "l3", "l4", "l4_off", "declared", "frag", "first_frag",
                 "ok", "why", "hdr_ok", "frag_id", "chain_ok")

    def __init__(self):
        self.ok = False
        self.why = ""
        self.frag = False
        self.first_frag = True
        self.hdr_ok = True
        self.l4 = b""
        self.proto = None
        self.src = self.dst = None
        self.declared = 0
        self.chain_ok = True     # IPv6: at most 8 extension headers, none after Fragment, Segments Left 0


def parse(frame, ip_only=False):
    """Parse Ethernet + IPv4/IPv6 (+ extension headers)."""
    p = Parsed()
    if ip_only:
        l3 = frame
        p.family = 4 if l3 and l3[0] >> 4 == 4 else 6 if l3 and l3[0] >> 4 == 6 else 0
    else:
        if len(frame) < 14:
            p.why = "short ethernet"
            return p
        et = frame[12:14]
        l3 = frame[14:]
        p.family = 4 if et == b"\x08\x00" else 6 if et == b"\x86\xdd" else 0
    p.l3 = l3
    if p.family == 4:
        if len(l3) < 20 or l3[0] >> 4 != 4 or (l3[0] & 15) < 5:
            p.why = "bad ipv4 header"
            return p
        ihl = (l3[0] & 15) * 4
        tot = struct.unpack("!H", l3[2:4])[0]
        p.declared = tot
        if len(l3) < ihl:
            p.why = "ipv4 header truncated"
            return p
        p.hdr_ok = csum_sum(l3[:ihl]) == 0xFFFF
        p.src, p.dst = l3[12:16], l3[16:20]
        p.proto = l3[9]
        fo = struct.unpack("!H", l3[6:8])[0]
        p.frag = bool(fo & 0x3FFF)
        p.first_frag = (fo & 0x1FFF) == 0
        p.frag_id = l3[4:6]
        p.l4_off = ihl
        p.l4 = l3[ihl:tot]
        p.ok = tot >= ihl and len(l3) >= tot
        if not p.ok:
            p.why = "ipv4 length"
        return p
    if p.family == 6:
        if len(l3) < 40 or l3[0] >> 4 != 6:
            p.why = "bad ipv6 header"
            return p
        plen = struct.unpack("!H", l3[4:6])[0]
        p.declared = 40 + plen
        p.src, p.dst = l3[8:24], l3[24:40]
        nh, off = l3[6], 40
        n_ext = 0
        for _ in range(16):
            if nh in EXT_HEADERS or nh == 44:
                n_ext += 1
                if n_ext > 8 or p.frag:
                    p.chain_ok = False
            if nh in EXT_HEADERS:
                if len(l3) < off + 8:
                    p.why = "ext truncated"
                    return p
                if nh == 43 and l3[off + 3]:
                    p.chain_ok = False
                nh, off = l3[off], off + (l3[off + 1] + 1) * 8
            elif nh == 44:
                if len(l3) < off + 8:
                    p.why = "frag truncated"
                    return p
                fo = struct.unpack("!H", l3[off + 2:off + 4])[0]
                p.frag = True
                p.first_frag = (fo >> 3) == 0
                p.frag_id = l3[off + 4:off + 8]
                nh, off = l3[off], off + 8
            else:
                break
        p.proto = nh
        p.l4_off = off
        p.l4 = l3[off:p.declared]
        p.ok = len(l3) >= p.declared and off <= p.declared
        if not p.ok:
            p.why = "ipv6 length"
        return p
    p.why = "not ip"
    return p


def l4_residual(p):
    """Folded sum over (pseudo-header +) L4 including its checksum: 0xffff when
    valid. None when it cannot be judged (fragment, short, IPv4 UDP 0)."""
    if not p.ok or p.frag:
        return None
    l4 = p.l4
    if p.proto == 6:
        if len(l4) < 20:
            return None
    elif p.proto == 17:
        if len(l4) < 8:
            return None
        if l4[6:8] == b"\0\0":
            return None     # IPv4: no checksum; IPv6: invalid either way (RFC 8200 §8.1)
    elif p.proto == 1 and p.family == 4:
        if len(l4) < 8:
            return None
        return csum_sum(l4)
    elif p.proto == 58 and p.family == 6:
        if len(l4) < 8:
            return None
    else:
        return None
    return csum_sum(l4, pseudo_sum(p.src, p.dst, len(l4), p.proto))


def is_icmp_error(p):
    if not p.ok or not p.first_frag or len(p.l4) < 8:
        return False
    if p.family == 4:
        return p.proto == 1 and p.l4[0] in (3, 4, 5, 11, 12)
    return p.proto == 58 and p.l4[0] < 128


def fix_l4(frame):
    """Recompute the L4 checksum of frame (unfragmented, consistent lengths)."""
    p = parse(frame)
    if not p.ok or p.frag or p.proto not in (1, 6, 17, 58):
        return frame
    off = {6: 16, 17: 6, 1: 2, 58: 2}[p.proto]
    if len(p.l4) < off + 2:
        return frame
    l4 = bytearray(p.l4)
    l4[off:off + 2] = b"\0\0"
    if p.proto == 1:
        c = csum(bytes(l4))
    else:
        c = csum(bytes(l4), pseudo_sum(p.src, p.dst, len(l4), p.proto))
        if p.proto == 17 and c == 0:
            c = 0xFFFF
    start = 14 + p.l4_off + off
    return frame[:start] + struct.pack("!H", c) + frame[start + 2:]


def fix_ipv4_header(frame):
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[14] >> 4 != 4:
        return frame
    ihl = (frame[14] & 15) * 4
    if ihl < 20 or len(frame) < 14 + ihl:
        return frame
    h = bytearray(frame[14:14 + ihl])
    h[10:12] = b"\0\0"
    h[10:12] = struct.pack("!H", csum(bytes(h)))
    return frame[:14] + bytes(h) + frame[14 + ihl:]


# ---------------------------------------------------------------------------
# Seeds (scapy, built once)

def scapy_seeds(cfg):
    from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_Router_Alert
    from scapy.layers.inet6 import (ICMPv6DestUnreach, ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6PacketTooBig,
                                    ICMPv6ParamProblem, ICMPv6TimeExceeded, IPv6, IPv6ExtHdrDestOpt,
                                    IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting)
    from scapy.packet import Raw

    m = cfg.mapper
    if cfg.name == "jool":
        a6, b6 = "2001:db8:1c0:2:21::", "2001:db8:1c6:3364:2::"
    else:
        a6, b6 = str(embed_cfg(cfg, "192.0.2.33")), str(embed_cfg(cfg, "8.8.4.4"))
    a4, b4 = str(m.to4(a6)), str(m.to4(b6))
    r6 = str(embed_cfg(cfg, "9.9.9.9"))
    r4 = "9.9.9.9"
    pool = str(cfg.pool4[0]) if cfg.pool4 else b4
    data = bytes(range(256)) * 6
    out = []

    def add6(p):
        out.append(("6to4", ETH6 + bytes(p)))

    def add4(p):
        out.append(("4to6", ETH4 + bytes(p)))

    for n in (0, 1, 40, 500, 1232, 1452):
        add6(IPv6(src=a6, dst=b6, tc=0x2e, fl=5) / UDP(sport=40000, dport=53) / Raw(data[:n]))
        add4(IP(src=b4, dst=pool if cfg.pool4 else a4, flags="DF" if n > 600 else 0) /
             UDP(sport=53, dport=40000) / Raw(data[:n]))
    for n in (0, 100, 1400):
        add6(IPv6(src=a6, dst=b6) / TCP(sport=40000, dport=80, flags="PA") / Raw(data[:n]))
        add4(IP(src=b4, dst=pool, tos=0xb8) / TCP(sport=80, dport=40000, flags="SA") / Raw(data[:n]))
        add6(IPv6(src=a6, dst=b6) / ICMPv6EchoRequest(id=40000, seq=1, data=data[:n]))
        add6(IPv6(src=a6, dst=b6) / ICMPv6EchoReply(id=40000, seq=1, data=data[:n]))
        add4(IP(src=b4, dst=pool) / ICMP(type=8, id=40000, seq=2) / Raw(data[:n]))
        add4(IP(src=b4, dst=pool) / ICMP(type=0, id=40000, seq=2) / Raw(data[:n]))
    add4(IP(src=b4, dst=pool) / UDP(sport=53, dport=40000, chksum=0) / Raw(data[:30]))
    add4(IP(src=b4, dst=pool, options=[IPOption_Router_Alert()]) / UDP(sport=53, dport=40000) / Raw(data[:30]))
    add4(IP(src=b4, dst=pool, ttl=1) / UDP(sport=53, dport=40000) / Raw(data[:30]))
    add6(IPv6(src=a6, dst=b6, hlim=1) / UDP(sport=40000, dport=53) / Raw(data[:30]))
    # fragments
    add6(IPv6(src=a6, dst=b6) / IPv6ExtHdrFragment(id=0x12345678, m=1) / UDP(sport=1, dport=2, len=1008) /
         Raw(data[:200]))
    add6(IPv6(src=a6, dst=b6, nh=44) / IPv6ExtHdrFragment(nh=17, id=0x12345678, offset=25, m=0) / Raw(data[:200]))
    add6(IPv6(src=a6, dst=b6) / IPv6ExtHdrFragment(id=7, m=0) / UDP(sport=1, dport=40000) / Raw(data[:20]))
    add4(IP(src=b4, dst=pool, id=0x4321, flags="MF") / UDP(sport=2, dport=40000, len=1008) / Raw(data[:400]))
    add4(IP(src=b4, dst=pool, id=0x4321, frag=51, proto=17) / Raw(data[:600]))
    # extension headers
    add6(IPv6(src=a6, dst=b6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() /
         IPv6ExtHdrRouting(segleft=0, addresses=[b6]) / UDP(sport=40000, dport=53) / Raw(data[:64]))
    add6(IPv6(src=a6, dst=b6) / IPv6ExtHdrRouting(segleft=1, addresses=[b6]) / UDP() / Raw(data[:64]))
    # ICMP errors both ways, quoting each kind
    inner6 = IPv6(src=b6, dst=a6, hlim=3) / UDP(sport=53, dport=40000) / Raw(data[:300])
    inner6t = IPv6(src=b6, dst=a6) / TCP(sport=80, dport=40000) / Raw(data[:30])
    inner6e = IPv6(src=b6, dst=a6) / ICMPv6EchoReply(id=40000, data=data[:30])
    for icmp6 in (ICMPv6DestUnreach(code=4), ICMPv6DestUnreach(code=1), ICMPv6PacketTooBig(mtu=1400),
                  ICMPv6TimeExceeded(), ICMPv6ParamProblem(ptr=6), ICMPv6ParamProblem(code=1, ptr=40)):
        add6(IPv6(src=r6, dst=b6) / icmp6 / inner6)
    add6(IPv6(src="2001:db8:bad::1", dst=b6) / ICMPv6DestUnreach() / inner6t)
    add6(IPv6(src=r6, dst=b6) / ICMPv6TimeExceeded() / inner6e)
    inner4 = IP(src=pool, dst=b4, ttl=3) / UDP(sport=40000, dport=53) / Raw(data[:300])
    inner4t = IP(src=pool, dst=b4, flags="DF") / TCP(sport=40000, dport=80) / Raw(data[:30])
    inner4e = IP(src=pool, dst=b4) / ICMP(type=8, id=40000) / Raw(data[:30])
    for icmp4 in (ICMP(type=3, code=3), ICMP(type=3, code=4, nexthopmtu=1400), ICMP(type=3, code=4),
                  ICMP(type=3, code=13), ICMP(type=11), ICMP(type=12, ptr=9), ICMP(type=3, code=2)):
        add4(IP(src=r4, dst=pool) / icmp4 / inner4)
    add4(IP(src=r4, dst=pool) / ICMP(type=3, code=1) / inner4t)
    add4(IP(src=r4, dst=pool) / ICMP(type=11) / inner4e)
    # protocols without a meaning in the other family
    for proto in (0, 43, 44, 58, 60, 59, 47):
        add4(IP(src=b4, dst=pool, proto=proto) / Raw(data[:40]))
        add4(IP(src=r4, dst=pool) / ICMP(type=3, code=1) / IP(src=pool, dst=b4, proto=proto) / Raw(data[:40]))
    add6(IPv6(src=a6, dst=b6, nh=59) / Raw(data[:40]))
    add6(IPv6(src=a6, dst=b6, nh=1) / ICMP(type=8, id=7) / Raw(data[:40]))
    add6(IPv6(src=a6, dst=b6) / IPv6ExtHdrHopByHop(nh=1) / ICMP(type=8, id=7) / Raw(data[:40]))
    add6(IPv6(src=r6, dst=b6) / ICMPv6DestUnreach(code=3) / IPv6(src=b6, dst=a6, nh=1) / ICMP(type=0) /
         Raw(data[:40]))
    # IPv6 UDP with checksum 0 (invalid in IPv6): computed for IPv4, or dropped
    for n in (0, 7, 300):
        add6(IPv6(src=a6, dst=b6) / UDP(sport=40000, dport=53, chksum=0) / Raw(data[:n]))
    add6(IPv6(src=a6, dst=b6) / IPv6ExtHdrFragment(id=9, m=1) / UDP(sport=40000, dport=53, chksum=0) /
         Raw(data[:64]))
    # multicast and link-local, passed or translated
    add6(IPv6(src=a6, dst=str(embed_cfg(cfg, "234.203.0.113"))) / UDP(sport=5000, dport=5000) / Raw(data[:10]))
    add4(IP(src=b4, dst="224.0.0.251") / UDP(sport=5353, dport=5353))
    return out


def embed_cfg(cfg, v4):
    return xlat.embed(cfg.prefix, v4) if cfg.prefix else cfg.mapper.to6(v4)


def jool_seeds():
    base = JOOL_DIR if JOOL_DIR.is_dir() else JOOL_DIR_ALT
    out = []
    for f in sorted(base.glob("**/*.pkt")):
        b = f.read_bytes()
        if b and b[0] >> 4 == 6:
            out.append(("6to4", ETH6 + b))
        elif b and b[0] >> 4 == 4:
            out.append(("4to6", ETH4 + b))
    return out


def corpus_seeds(names=CONFIG_BY_NAME):
    """{config name: [(direction, frame)]} from corpus/*.hex, for the names given."""
    out = collections.defaultdict(list)
    for f in sorted(CORPUS_DIR.glob("*.hex")):
        for line in f.read_text().splitlines():
            parts = line.split()
            if len(parts) == 3 and not line.startswith("#") and parts[0] in names:
                out[parts[0]].append((parts[1], bytes.fromhex(parts[2])))
    return out


# ---------------------------------------------------------------------------
# Mutations (bytes)

class Mutator:
    def __init__(self, rng, cfg, seeds):
        self.rng = rng
        self.cfg = cfg
        self.seeds = seeds

    def pick(self):
        return self.rng.choice(self.seeds)

    def mutate(self):
        r = self.rng
        direction, frame = self.pick()
        ops = [self.truncate, self.bitflip, self.length_lie, self.ext_chain, self.nested_error,
               self.ipv4_options, self.splice, self.random_bytes, self.field_value, self.nothing]
        weights = [10, 20, 15, 12, 10, 8, 5, 4, 12, 4]
        for _ in range(r.choice((1, 1, 1, 2, 3))):
            op = r.choices(ops, weights)[0]
            direction, frame = op(direction, frame)
        if r.random() < 0.6:
            frame = fix_ipv4_header(frame)
        if r.random() < 0.4:
            frame = fix_l4(frame)
            frame = fix_ipv4_header(frame)
        if len(frame) < 14:
            frame = frame + bytes(14 - len(frame))
        return direction, frame[:MAX_FRAME]

    def nothing(self, d, f):
        return d, f

    def truncate(self, d, f):
        return d, f[:self.rng.randint(14, max(14, len(f)))]

    def bitflip(self, d, f):
        b = bytearray(f)
        hot = min(len(b), 14 + 80)
        for _ in range(self.rng.randint(1, 8)):
            i = self.rng.randrange(14, hot) if self.rng.random() < 0.8 and hot > 14 else self.rng.randrange(len(b))
            b[i] ^= 1 << self.rng.randrange(8)
        return d, bytes(b)

    def field_value(self, d, f):
        """Set one interesting header byte/word to an interesting value."""
        b = bytearray(f)
        if len(b) < 60:
            return d, f
        r = self.rng
        if b[12:14] == b"\x08\x00":
            i = r.choice([15, 20, 21, 22, 23, 22, 23, 8 + 14, 9 + 14, 34, 35])   # tos, flags/offset, ttl, proto, icmp
        else:
            i = r.choice([14, 15, 20, 21, 54, 55, 56, 57])                        # tc, nh, hlim, L4/ICMP type/code
        b[i] = r.choice([0, 1, 2, 3, 4, 5, 11, 12, 0x20, 0x40, 0x3f, 0x80, 0x81, 0x86, 0x87, 0xff,
                         r.randrange(256)])
        return d, bytes(b)

    def length_lie(self, d, f):
        b = bytearray(f)
        r = self.rng
        p = parse(f)
        choices = []
        if p.family == 4 and len(b) >= 34:
            choices += [(16, 2), (14, 0)]
        if p.family == 6 and len(b) >= 54:
            choices += [(18, 2)]
        if p.ok and p.proto in (17,) and len(p.l4) >= 8:
            choices.append((14 + p.l4_off + 4, 2))
        if p.ok and is_icmp_error(p) and len(p.l4) >= 28:
            inner = 14 + p.l4_off + 8
            choices.append((inner + (2 if p.family == 4 else 4), 2) if len(b) > inner + 6 else (inner, 0))
            choices.append((14 + p.l4_off + (5 if p.family == 4 else 4), 1))     # RFC 4884 length
        if not choices:
            return self.truncate(d, f)
        off, width = r.choice(choices)
        if width == 0:          # the IHL nibble
            b[off] = (b[off] & 0xF0) | r.randrange(16)
        elif width == 1:
            b[off] = r.choice([0, 1, 2, 8, 16, 32, 34, 36, 128, 255, r.randrange(256)])
        else:
            old = struct.unpack("!H", b[off:off + 2])[0]
            new = r.choice([0, 1, 7, 8, 20, 28, 40, 0xFFFF, old + 1, old - 1, old + 8, old - 8, old * 2,
                            r.randrange(65536)]) & 0xFFFF
            b[off:off + 2] = struct.pack("!H", new)
        return d, bytes(b)

    def ext_chain(self, d, f):
        """Insert a random IPv6 extension header chain in front of the L4."""
        p = parse(f)
        if p.family != 6 or not p.ok:
            return d, f
        r = self.rng
        nh = p.proto
        body = f[14 + p.l4_off:]
        chain = b""
        kinds = [r.choice((0, 60, 43, 44, 60, 0, 43, 44, 253)) for _ in range(r.choice((1, 2, 3, 5, 7, 8, 9, 12)))]
        for kind in reversed(kinds):
            if kind == 44:
                fo = r.choice((0, 1, 8, r.randrange(65536)))
                hdr = struct.pack("!BBHI", nh, 0, fo, r.randrange(1 << 32))
            elif kind == 43:
                segleft = r.choice((0, 0, 0, 1, 2))
                hdr = struct.pack("!BBBB", nh, 2, r.choice((0, 2, 4)), segleft) + bytes(4) + p.dst
            else:
                n = r.choice((0, 0, 1, 2))
                hdr = struct.pack("!BB", nh, n) + b"\x01" + bytes([4 + 8 * n]) + bytes(4 + 8 * n)
            chain = hdr + chain
            nh = kind
        l3 = bytearray(f[14:14 + 40])
        l3[6] = nh
        new = bytes(l3) + chain + body
        new = new[:4] + struct.pack("!H", len(new) - 40) + new[6:]
        return d, f[:14] + new

    def nested_error(self, d, f):
        """Wrap the packet (or an error about it) in one or two ICMP errors."""
        r = self.rng
        p = parse(f)
        if not p.ok or p.family not in (4, 6):
            return d, f
        inner = f[14:14 + p.declared]
        for _ in range(r.choice((1, 1, 2, 3))):
            if p.family == 4:
                t = r.choice((3, 3, 11, 12, 4, 5, 3))
                c = r.choice((0, 1, 2, 3, 4, 13, 14, 15)) if t == 3 else r.randrange(3)
                rest = struct.pack("!HH", 0, r.choice((0, 68, 1000, 1280, 1400, 1500, 9000))) if t == 3 and c == 4 \
                    else bytes([r.choice((0, 2, 9, 12, 16, 30))]) + bytes(3) if t == 12 else bytes(4)
                quoted = inner[:r.choice((28, 48, 100, 548, len(inner)))]
                icmp = bytes([t, c, 0, 0]) + rest + quoted
                icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
                src = r.choice((b"\x09\x09\x09\x09", inner[16:20], bytes(4)))
                hdr = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0, 64, 1, 0, src,
                                            inner[12:16]))
                hdr[10:12] = struct.pack("!H", csum(bytes(hdr)))
                inner = bytes(hdr) + icmp
            else:
                t = r.choice((1, 1, 2, 3, 4, 4, 0, 127))
                c = r.randrange(8) if t == 1 else r.randrange(3)
                rest = struct.pack("!I", r.choice((0, 1280, 1500, 70000))) if t == 2 else \
                    struct.pack("!I", r.choice((0, 6, 7, 8, 24, 40, 43, 1000))) if t == 4 else bytes(4)
                quoted = inner[:r.choice((48, 100, 1232, len(inner)))]
                src6 = r.choice((bytes(embed_cfg(self.cfg, "9.9.9.9").packed), inner[24:40],
                                 ipaddress.IPv6Address("2001:db8:bad::1").packed))
                dst6 = inner[8:24]
                icmp = bytes([t, c, 0, 0]) + rest + quoted
                icmp = icmp[:2] + struct.pack("!H", csum(icmp, pseudo_sum(src6, dst6, len(icmp), 58))) + icmp[4:]
                inner = struct.pack("!IHBB", 0x60000000, len(icmp), 58, 64) + src6 + dst6 + icmp
        return d, f[:14] + inner

    def ipv4_options(self, d, f):
        p = parse(f)
        if p.family != 4 or not p.ok:
            return d, f
        r = self.rng
        n = r.choice((4, 8, 12, 40))
        opts = bytes(r.choice((0, 1, 7, 68, 130, 148, r.randrange(256))) for _ in range(n))
        if r.random() < 0.5:
            opts = b"\x01" * (n - 1) + b"\x00"
        ihl = (f[14] & 15) * 4
        hdr = bytearray(f[14:14 + ihl][:20]) + opts
        hdr[0] = 0x40 | (len(hdr) // 4)
        hdr[2:4] = struct.pack("!H", p.declared - ihl + len(hdr))
        return d, fix_ipv4_header(f[:14] + bytes(hdr) + f[14 + ihl:])

    def splice(self, d, f):
        d2, f2 = self.pick()
        cut = self.rng.randint(14, max(14, len(f)))
        cut2 = self.rng.randint(14, max(14, len(f2)))
        return d, f[:cut] + f2[cut2:]

    def random_bytes(self, d, f):
        r = self.rng
        n = r.choice((20, 28, 40, 48, 60, 100, 600))
        b = bytearray(r.randbytes(n))
        if d == "4to6":
            b[0] = 0x40 | (b[0] & 15) if r.random() < 0.8 else b[0]
            if r.random() < 0.5:
                b[0] = 0x45
                b[2:4] = struct.pack("!H", n)
        else:
            b[0] = 0x60 | (b[0] & 15) if r.random() < 0.8 else b[0]
            if r.random() < 0.5 and n >= 40:
                b[4:6] = struct.pack("!H", n - 40)
        return d, f[:14] + bytes(b)


# ---------------------------------------------------------------------------
# Properties

ERR4 = {(3, 4), (3, 13), (11, 0)}
ERR6 = {(1, 1), (2, 0), (3, 0), (4, 0)}


def addr(b):
    return ipaddress.ip_address(bytes(b))


def check(cfg, direction, frame, rv, out):
    """None, or the reason the answer breaks a property."""
    if rv is None:
        # BPF_PROG_TEST_RUN itself refuses frames whose IP header is cut short
        et = frame[12:14]
        need = 14 + (20 if et == b"\x08\x00" else 40 if et == b"\x86\xdd" else 0)
        return "test-run error" if need <= len(frame) <= MAX_FRAME else None
    if rv not in (0, 2, 7):
        return f"verdict {rv}"
    if rv == 2:
        return None if out is None else "output with TC_ACT_SHOT"
    if out is None:
        return "no output frame"
    if rv == 0 and out == frame:
        return None
    pin, pout = parse(frame), parse(out)
    if rv == 0 and pin.family in (4, 6) and pout.family not in (0, pin.family) and \
            pin.proto in NO_COUNTERPART[pin.family]:
        return f"{'IPv4 protocol' if pin.family == 4 else 'IPv6 next header'} {pin.proto} " \
               "(no counterpart in the other family) translated"
    if not pout.ok:
        return f"malformed output: {pout.why}"
    pad_in = len(frame) - 14 - pin.declared if pin.ok else 0
    pad_out = len(out) - 14 - pout.declared
    if pad_out < 0 or pad_out > max(0, pad_in):
        return f"output length {len(out) - 14} vs declared {pout.declared} (input padding {pad_in})"
    if pout.family == 4:
        if (out[14] & 15) != 5:
            return "output IPv4 with options"
        if not pout.hdr_ok:
            return "output IPv4 header checksum"
    in_family = 6 if direction == "6to4" else 4
    if rv == 7 and in_family == 6 and pout.family == 6 and pin.ok and pin.dst and \
            not (pout.dst == pin.src and pout.proto == 58):
        return check_hairpin(cfg, pin, pout)
    if rv == 7:
        return check_generated(cfg, pin, pout, in_family, out)
    if pout.family == in_family:
        return "modified but not translated"
    if in_family == 6 and pin.ok and pin.dst and cfg.mapper.hairpin_dst(addr(pin.dst)) is not None:
        return "not hairpinned (RFC 7757 §4.2)"
    if not pin.ok:
        return f"translated a malformed input ({pin.why})"
    if pin.proto in (1, 58) and pin.first_frag and len(pin.l4) < 8:
        return f"translated an ICMP message shorter than its header (IP payload {len(pin.l4)} bytes)"
    # addresses
    err_in = is_icmp_error(pin)
    to = cfg.mapper.to4 if in_family == 6 else cfg.mapper.to6
    want_dst = to(addr(pin.dst))
    if want_dst is None or addr(pout.dst) != want_dst:
        return f"destination {addr(pout.dst)} for {addr(pin.dst)} (want {want_dst})"
    want_src = to(addr(pin.src))
    if want_src is None:
        if not err_in:
            return f"untranslatable source {addr(pin.src)} translated"
        allowed = cfg.err_src4 if in_family == 6 else cfg.err_src6
        if addr(pout.src) not in allowed:
            return f"source {addr(pout.src)} for untranslatable {addr(pin.src)} (want one of {allowed})"
    elif addr(pout.src) != want_src:
        return f"source {addr(pout.src)} for {addr(pin.src)} (want {want_src})"
    # checksums
    if in_family == 6 and pin.proto == 17 and pin.first_frag and len(pin.l4) >= 8 and \
            pin.l4[6:8] == b"\0\0":
        # RFC 8200 §8.1 / RFC 7915 §4.5: computed for IPv4, or dropped
        if cfg.udp_zero_drop or pout.frag:
            return "IPv6 UDP checksum 0 translated (UDPZeroChecksum=drop, or a first fragment)"
        if len(pout.l4) >= 8 and pout.l4[6:8] == b"\0\0":
            return "IPv6 UDP checksum 0 translated into IPv4 UDP without a checksum"
        if csum_sum(pout.l4, pseudo_sum(pout.src, pout.dst, len(pout.l4), 17)) != 0xFFFF:
            return "IPv6 UDP checksum 0 translated into a wrong IPv4 checksum"
    rin, rout = l4_residual(pin), l4_residual(pout)
    if rin is not None and not pout.frag:
        if rout is None:
            return "output L4 not checkable"
        if rin == 0xFFFF and rout != 0xFFFF:
            return "valid L4 checksum in, invalid out"
        if rout is not None and rin != 0xFFFF and rin % 0xFFFF != rout % 0xFFFF:
            if err_in and rout == 0xFFFF:
                return "ICMP error with a wrong checksum translated into a valid one"
            return f"L4 checksum wrong by another amount (in {rin:#x}, out {rout:#x})"
    # RFC 7915 §4.1 / §5.1: TTL/hop limit (-1 as a router), TOS/traffic class, flow label 0
    ttl_in = pin.l3[8] if in_family == 4 else pin.l3[7]
    ttl_out = pout.l3[7] if in_family == 4 else pout.l3[8]
    if ttl_out != ttl_in - (1 if cfg.router else 0):
        return f"TTL/hop limit not copied (out {ttl_out} for {ttl_in})"
    if in_family == 4:
        tc_out = ((pout.l3[0] & 15) << 4) | (pout.l3[1] >> 4)
        if tc_out != pin.l3[1] or (pout.l3[1] & 15) or pout.l3[2] or pout.l3[3]:
            return "traffic class not the TOS, or flow label not 0"
    else:
        tc_in = ((pin.l3[0] & 15) << 4) | (pin.l3[1] >> 4)
        if pout.l3[1] != tc_in:
            return ("outer TOS of a translated ICMP error not the traffic class" if err_in
                    else "TOS not the traffic class")
    if err_in and pout.ok:
        r = check_quoted(cfg, pin, pout, to)
        if r:
            return r
    return None


def check_quoted(cfg, pin, pout, to):
    """Addresses of the packet quoted in a translated error."""
    qin = parse(pin.l4[8:], ip_only=True)
    qout = parse(pout.l4[8:], ip_only=True)
    if qin.family not in (4, 6) or qout.family not in (4, 6) or qin.src is None or qout.src is None:
        return None
    if qout.family == qin.family:
        return "quoted packet not translated"
    # RFC 7915 §4.3 / §5.3: the quoted packet "in the same way" as the outer one
    if qin.proto in NO_COUNTERPART[qin.family]:
        return f"quoted packet with protocol {qin.proto} (no counterpart in the other family) translated"
    for a_in, a_out, what in ((qin.src, qout.src, "source"), (qin.dst, qout.dst, "destination")):
        want = to(addr(a_in))
        if want is None:
            return f"quoted {what} {addr(a_in)} maps to nothing, yet translated"
        if want is not None and addr(a_out) != want:
            return f"quoted {what} {addr(a_out)} for {addr(a_in)} (want {want})"
    return None


def check_split(pin, phead, rv, tail):
    """A head fragment and the tail from the rerun make the input's datagram."""
    if rv != 0 or tail is None:
        return f"no tail fragment for a split packet (verdict {rv})"
    ptail = parse(tail)
    if not ptail.ok or not ptail.frag or ptail.family != 6:
        return "tail of a split packet not an IPv6 fragment"
    off = struct.unpack("!H", tail[14 + 40 + 2:14 + 40 + 4])[0] >> 3
    head_l4 = phead.l4
    if off * 8 != len(head_l4) or ptail.frag_id != phead.frag_id or tail[14 + 40 + 3] & 1:
        return "split fragments do not line up (offset, id or M)"
    whole = head_l4 + ptail.l4
    if len(whole) != len(pin.l4):
        return f"split fragments carry {len(whole)} bytes for {len(pin.l4)}"
    rin = l4_residual(pin)
    proto = 58 if pin.proto == 1 else pin.proto
    if rin is None or proto not in (6, 17, 58):
        return None
    if proto == 17 and whole[6:8] == b"\0\0":
        return "split UDP without checksum"
    rout = csum_sum(whole, pseudo_sum(phead.src, phead.dst, len(whole), proto))
    if rin == 0xFFFF and rout != 0xFFFF:
        return f"split packet: valid L4 checksum in, invalid after reassembly (proto {proto})"
    if rin != 0xFFFF and rin % 0xFFFF != rout % 0xFFFF:
        return f"split packet: L4 checksum wrong by another amount (proto {proto})"
    return None


def check_hairpin(cfg, pin, pout):
    """An IPv6 packet turned back to IPv6 (RFC 7757 §4.2, intrinsic mode)."""
    m = cfg.mapper
    want_dst = m.hairpin_dst(addr(pin.dst))
    if want_dst is None:
        if m.eam6(addr(pin.dst)):
            return "hairpinned a destination in EAM form"
        return "turned back to IPv6 without a reason (no hairpin, no error)"
    if addr(pout.dst) != want_dst:
        return f"hairpin destination {addr(pout.dst)} (want {want_dst})"
    src4 = m.to4(addr(pin.src))
    if src4 is None:
        srcs = cfg.err_src4 if is_icmp_error(pin) else set()
    else:
        srcs = {src4}
    want_srcs = {xlat.embed(cfg.prefix, a) for a in srcs} if cfg.prefix else set()
    if addr(pout.src) not in want_srcs:
        return f"hairpin source {addr(pout.src)} (want one of {want_srcs})"
    ttl_in, ttl_out = pin.l3[7], pout.l3[7]
    if ttl_out != ttl_in - (1 if cfg.router else 0):
        return f"hairpin hop limit (out {ttl_out} for {ttl_in})"
    rin, rout = l4_residual(pin), l4_residual(pout)
    if rin == 0xFFFF and not pout.frag and rout != 0xFFFF:
        return "hairpin: valid L4 checksum in, invalid out"
    return None


def check_generated(cfg, pin, pout, in_family, out):
    if pout.family != in_family:
        return "redirected frame of the other family"
    # RFC 1122 §3.2.2, RFC 4443 §2.4(e): never about an ICMP error (IPv6: one
    # the translator can see as such, its extension header chain acceptable),
    # an IPv4 non-initial fragment, or a multicast destination (Packet Too
    # Big aside in IPv6)
    about_error = is_icmp_error(pin) and (in_family == 4 or pin.chain_ok)
    group = pin.dst and addr(pin.dst).is_multicast
    if pin.dst and in_family == 6 and not group:
        # an IPv4 group or broadcast behind the prefix (a multicast map's DNAT target)
        mapped = cfg.mapper.to4(addr(pin.dst))
        group = mapped is not None and (mapped.is_multicast or mapped == ipaddress.IPv4Address("255.255.255.255"))
    if about_error or (in_family == 4 and pin.ok and not pin.first_frag) or \
            (group and not (in_family == 6 and pout.l4[:1] == b"\x02")):
        return "ICMP error generated about an ICMP error, non-first fragment or multicast packet"
    if not pin.src or addr(pout.dst) != addr(pin.src):
        return "generated error not sent back to the source"
    selfs = {cfg.self_v4 if in_family == 4 else cfg.self_v6, addr(pin.dst)}
    if addr(pout.src) not in selfs:
        return f"generated error from {addr(pout.src)}"
    if len(pout.l4) < 8:
        return "generated error too short"
    tc = (pout.l4[0], pout.l4[1])
    if in_family == 4 and (pout.proto != 1 or tc not in ERR4):
        return f"generated ICMPv4 {tc}"
    if in_family == 6 and (pout.proto != 58 or tc not in ERR6):
        return f"generated ICMPv6 {tc}"
    if l4_residual(pout) != 0xFFFF:
        return "generated error checksum"
    if pout.declared > (576 if in_family == 4 else 1280):
        return "generated error too long"
    return None


# ---------------------------------------------------------------------------

def run_batch(cfg, items):
    """items: list of (direction, mark, frame) -> list of (rv, out); raises on tool failure."""
    t = xlat.Xlat(*cfg.flags, counters=True)
    try:
        res = t.run_many([(d, f, m) for d, m, f in items])
    finally:
        t.close()
    if t.proc.returncode != 0:
        raise xlat.XlatError(f"nat64-xlat-run exited {t.proc.returncode}")
    return res


def packet_count(default):
    """How many frames a test fuzzes: NAT64_FUZZ_PACKETS, else 10 million with NAT64_LONG_TESTS=1, else default."""
    return int(os.environ.get("NAT64_FUZZ_PACKETS", "10000000" if os.environ.get("NAT64_LONG_TESTS") else default))


def save_failure(cfg, direction, mark, frame, reason, out, note=""):
    CRASH_DIR.mkdir(exist_ok=True)
    h = hashlib.sha256(f"{cfg.name} {direction} {frame.hex()}".encode()).hexdigest()[:16]
    path = CRASH_DIR / f"{cfg.name}-{direction}-{h}.txt"
    path.write_text(f"# {reason}\n# flags: {' '.join(cfg.flags)}\n{note}# output: {out.hex() if out else '-'}\n"
                    f"{direction} {mark:x} {frame.hex()}\n")
    return path


class Failures:
    """Failed properties of a run: (config name, direction, mark, frame, why),
    counted by reason (its words before " ("), the first 5 of each saved
    (but of the reasons starting with one of known: open bugs, reproduced)."""

    def __init__(self, save=True, note="", known=()):
        self.save = save
        self.note = note        # extra "# ..." lines for the saved files
        self.known = tuple(known)
        self.list = []
        self.reasons = collections.Counter()
        self.lock = threading.Lock()

    def add(self, cfg, direction, mark, frame, why, out=None):
        key = why.split(" (")[0]
        with self.lock:
            self.reasons[key] += 1
            if self.save and frame and self.reasons[key] <= 5 and not key.startswith(self.known or "\0"):
                save_failure(cfg, direction, mark, frame, why, out, self.note)
            self.list.append((cfg.name, direction, mark, frame, why))

    def tool_failure(self, cfg, e):
        with self.lock:
            self.list.append((cfg.name, "-", 0, b"", f"tool failure: {e}"))


def plan_batches(rng, packets, batch, configs):
    """packets split into batches of at most batch, configs in turn: [(cfg, seed, n)]."""
    plan = []
    left = packets
    i = 0
    while left > 0:
        n = min(batch, left)
        plan.append((configs[i % len(configs)], rng.randrange(1 << 30), n))
        left -= n
        i += 1
    return plan


def run_jobs(plan, work, jobs=None):
    """work(*item) for every item of plan, jobs threads at a time (each drives its own tool)."""
    jobs = jobs or max(1, min(4, len(os.sched_getaffinity(0))))
    threads = []
    pending = list(plan)
    while pending or threads:
        while pending and len(threads) < jobs:
            th = threading.Thread(target=work, args=pending.pop(0))
            th.start()
            threads.append(th)
        threads[0].join()
        threads = [t for t in threads if t.is_alive()]


def fuzz(packets=200000, seed=1, batch=20000, jobs=None, save=True, log=print):
    rng = random.Random(seed)
    corpus = corpus_seeds()
    jool = jool_seeds()
    seeds = {}
    for cfg in CONFIGS:
        s = scapy_seeds(cfg) + corpus.get(cfg.name, [])
        if cfg.name == "jool":
            s += jool
        seeds[cfg.name] = s
    plan = plan_batches(rng, packets, batch, CONFIGS)
    stats = collections.Counter()
    failures = Failures(save)
    lock = threading.Lock()
    t0 = time.time()

    def work(cfg, bseed, n):
        r = random.Random(bseed)
        mut = Mutator(r, cfg, seeds[cfg.name])
        items = []
        for _ in range(n):
            d, f = mut.mutate()
            mark = xlat.MARK_TAIL_FRAGMENT if d == "4to6" and r.random() < 0.05 else 0
            items.append((d, mark, f))
        try:
            res = run_batch(cfg, items)
        except xlat.XlatError as e:
            failures.tool_failure(cfg, e)
            return
        local = collections.Counter()
        for (d, mark, f), (rv, out) in zip(items, res):
            local[f"{d} rv={rv}"] += 1
            try:
                why = check(cfg, d, f, rv, out)
            except Exception as e:  # noqa: BLE001 - a checker bug is a failure too
                why = f"checker exception {e!r}"
            if why:
                failures.add(cfg, d, mark, f, why, out)
        # DF=0 packets split in two: fetch the tails, check the reassembled L4
        heads = []
        for (d, mark, f), (rv, out) in zip(items, res):
            if d == "4to6" and mark == 0 and rv == 0 and out and out != f:
                po, pi = parse(out), parse(f)
                if po.ok and po.family == 6 and po.frag and po.first_frag and not pi.frag and pi.ok \
                        and out[14 + 40 + 3] & 1:
                    heads.append((f, out, pi, po))
        if heads:
            try:
                tails = run_batch(cfg, [("4to6", xlat.MARK_TAIL_FRAGMENT, f) for f, _, _, _ in heads])
            except xlat.XlatError as e:
                tails = [(None, None)] * len(heads)
                failures.tool_failure(cfg, e)
            for (f, out, pi, po), (rv, tail) in zip(heads, tails):
                local["split"] += 1
                why = check_split(pi, po, rv, tail)
                if why:
                    failures.add(cfg, "4to6", 0, f, why, out)
        with lock:
            stats.update(local)

    run_jobs(plan, work, jobs)
    log(f"{packets} packets, {len(plan)} batches, {time.time() - t0:.1f}s")
    for k in sorted(stats):
        log(f"  {k}: {stats[k]}")
    for k, v in failures.reasons.most_common():
        log(f"  FAIL {v}x {k}")
    return failures.list, stats


def write_corpus(n_per_config=12, seed=6052):
    """A few dozen seeds (and some mutants) as hex lines, for the corpus."""
    CORPUS_DIR.mkdir(exist_ok=True)
    rng = random.Random(seed)
    lines = ["# config direction hex-frame (tests/fuzz/fuzz_xlat.py --write-corpus)"]
    for cfg in CONFIGS:
        s = scapy_seeds(cfg)
        for d, f in rng.sample(s, min(n_per_config, len(s))):
            lines.append(f"{cfg.name} {d} {f.hex()}")
    (CORPUS_DIR / "seeds.hex").write_text("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=200000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=20000)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--write-corpus", action="store_true")
    a = ap.parse_args()
    if a.write_corpus:
        write_corpus()
        return 0
    failures, _ = fuzz(a.packets, a.seed, a.batch, a.jobs, save=not a.no_save)
    for name, d, mark, f, why in failures[:20]:
        print(f"{name} {d} {mark:x} {f.hex()[:160]}... : {why}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
