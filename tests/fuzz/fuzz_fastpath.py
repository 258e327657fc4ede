#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Differential fuzzer of the fast path ([NAT66] FastPath=yes, bpf/lib/fastpath.h).

    fuzz_fastpath.py [--packets N] [--seed S] [--batch 20000] [--jobs J] [--no-save]

Builds the reference topology (tests/lib/topology.py), starts nat64-gatewayd
and makes real conntrack entries through its NAT66: UDP flows replied (one
also 2 s old, which conntrack then assures) and TCP connections left
ESTABLISHED (client and server idle on their sockets), with client ports
below PortRange= so that the NAT must change them. The flows are made with
FastPath=no (a broken fast path must fail the fuzzing, not the making of
its flows), then the daemon reloads with FastPath=yes. Their NAT is read
from `conntrack -L -f ipv6`, the oracle's source of truth for the rewrite. Then, in the gateway's namespace (so that
bpf_skb_ct_lookup finds those entries), tools/nat64-xlat-run feeds
mutated frames of the flows to xlat_fastpath with BPF_PROG_TEST_RUN
("fastpath" direction, gateway mode --redirect, the clients map filled as
the daemon does, per-frame counter changes).

Frames: scapy builds the flows' packets (payload lengths, TCP flags, hop
limits, extension headers, fragments, UDP checksum 0, other next headers);
byte mutations then set hop limits 0/1/2/255, TCP flags, truncate, append
junk after L4, lie in the payload length, flip one bit of an address or
port, turn the frame into the flow's reply tuple or the other protocol,
with the L4 checksum re-fixed half of the time. corpus/*.hex lines of
config "fastpath" are seeds too, moved onto a flow's tuple.

The oracle, for every frame F (the fast path's answer is verdict, frame and
the counters its run moved):
  * the fast path took F (fastpath-6to4 +1): its answer must equal, verdict
    and bytes, what xlat_6to4 (same tool, gateway mode) answers for N(F),
    the NAT66 rewrite done here from the conntrack entry: source address
    and port of the entry's reply tuple, hop limit - 1, the L4 checksum
    updated incrementally (RFC 1624), so that a wrong checksum stays wrong
    by the same amount, as the kernel's NAT leaves it; where F's checksum
    was valid scapy's full recomputation of N(F) must agree. Bytes compare
    modulo the IPv4 Identification (a per-CPU counter, RFC 6864) and the
    header checksum that covers it; each output's checksums are verified
    with scapy's sums over its bytes (valid if F's was, else wrong by the
    same amount) and its addresses, TTL and source port checked against
    the entry: IPv4 from the pool to the flow's peer. A taken frame that
    6to4 answers with a Packet Too Big is a failure of its own (TOO_BIG:
    its error would go to the NAT address; a frame larger than the
    translator link's MTU must punt "route", so that the kernel answers
    the client).
  * otherwise F must come back untouched with TC_ACT_OK and exactly one
    fastpath-punt-* counter +1, or none where F is no client's packet to
    the prefix; a drop is a failure.
  * the model of the program's documented rules says which frames must not
    be taken, and why: other next headers, truncated L4, UDP checksum 0
    (header), hop limit 0/1 or larger than the translator link's MTU
    (route), SYN/FIN/RST (tcp-control), a tuple of
    no entry (no-entry), a reply tuple on the LAN's hook (not-established:
    the opts.dir check; reachable because one configuration calls every
    address a client). Such frames must punt for that reason; the flows'
    own packets must be taken (a young UDP flow may punt udp-stream).
Replies (fuzz_replies_here()): the flows' IPv4 replies as the WAN delivers
them, byte-mutated (TTL, flags, lengths, fragment bits, options, TOS,
checksum 0, bit flips), through xlat_4to6: a tool with
--fastpath-uncached answers each the general way, a second one answers
each twice in a row, the second time from the flow's slot where the
general way took it; both answers must be the reference's.
Violations are saved to tests/fuzz/crashes/ as fuzz_xlat.py saves its own
(with the flows' conntrack lines: a replay needs such entries). Exit status
1 when a property failed.
"""
import argparse
import collections
import functools
import ipaddress
import json
import os
import random
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))
sys.path.insert(0, str(HERE))

import fuzz_xlat as fx  # noqa: E402
import topology as T  # noqa: E402
import xlat  # noqa: E402

PREFIX = ipaddress.IPv6Network(T.NAT64_PREFIX + "/96")
CLIENT_PREFIX = "2001:db8:d0be:f00d::/64"
FAST_CONF = T.GATEWAY_CONF if "FastPath=yes" in T.GATEWAY_CONF else T.GATEWAY_CONF.replace(
    f"ClientPrefix={CLIENT_PREFIX}\n", f"ClientPrefix={CLIENT_PREFIX}\nInterface=lan0\nFastPath=yes\n")
# the flows are made the slow way: a broken fast path must fail the fuzzing, not their making
SLOW_CONF = FAST_CONF.replace("FastPath=yes", "FastPath=no")
PUNT = "fastpath-punt-"
TAKEN = "fastpath-6to4"
TCP, UDP = 6, 17
UDP_PORT, TCP_PORT = 5002, 5007
UDP_SPORTS = (20301, 20302)     # young: replied, not yet a stream
UDP_ASSURED_SPORT = 20303       # 2 s on, a stream (ASSURED)
TCP_SPORTS = (20311, 20312)
# conntrack's timeouts in the gateway's namespace, long enough for a long
# run (each taken frame refreshes its entry as well)
SYSCTLS = {"net.netfilter.nf_conntrack_udp_timeout": 600, "net.netfilter.nf_conntrack_udp_timeout_stream": 1200,
           # gateway mode looks the IPv4 route up as input from the test run's device, lo (bench/translator-cost)
           "net.ipv4.conf.lo.forwarding": 1}
# Taken, then too big for the WAN: 6to4 answers the NATed packet, so its
# Packet Too Big would go to the NAT address and never reach the client.
TOO_BIG = "taken although larger than the WAN's MTU: 6to4's Packet Too Big goes to the NAT address"
# gatewayd/netlink.h: the slow path forwards into it, and checks its MTU
TRANSLATOR_LINK = "nat64tr0"
ETHER_LEN = 14


@functools.lru_cache(maxsize=None)
def translator_link():
    """(ifindex, MTU) of the daemon's translator link in this namespace."""
    return (socket.if_nametoindex(TRANSLATOR_LINK),
            int(Path(f"/sys/class/net/{TRANSLATOR_LINK}/mtu").read_text()))


# ---------------------------------------------------------------------------
# Flows through the daemon, and their entries

class Flow:
    def __init__(self, proto, src, dst, sport, dport, nat_src, nat_sport, assured, line):
        self.proto, self.sport, self.dport, self.nat_sport = proto, sport, dport, nat_sport
        self.src, self.dst, self.nat_src = (ipaddress.IPv6Address(a) for a in (src, dst, nat_src))
        self.assured = assured
        self.line = line

    def as_dict(self):
        return {"proto": self.proto, "src": str(self.src), "dst": str(self.dst), "sport": self.sport,
                "dport": self.dport, "nat_src": str(self.nat_src), "nat_sport": self.nat_sport,
                "assured": self.assured, "line": self.line}

    @classmethod
    def from_dict(cls, d):
        return cls(**d)

    def __str__(self):
        return (f"{'tcp' if self.proto == TCP else 'udp'} [{self.src}]:{self.sport} -> [{self.dst}]:{self.dport}"
                f" as [{self.nat_src}]:{self.nat_sport}")


def parse_conntrack(text):
    """Flows of `conntrack -L -f ipv6` lines with a source NAT (reply dst != orig src)."""
    flows = []
    for line in text.splitlines():
        proto = TCP if line.startswith("tcp") else UDP if line.startswith("udp") else None
        kv = re.findall(r"(src|dst|sport|dport)=(\S+)", line)
        if proto is None or len(kv) < 8:
            continue
        orig, reply = dict(kv[:4]), dict(kv[4:8])
        if (reply["dst"], reply["dport"]) == (orig["src"], orig["sport"]):
            continue
        if proto == TCP and " ESTABLISHED " not in line:
            continue
        flows.append(Flow(proto, orig["src"], orig["dst"], int(orig["sport"]), int(orig["dport"]), reply["dst"],
                          int(reply["dport"]), "[ASSURED]" in line, line.strip()))
    return flows


TCP_HOLD_SERVER = """
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", %d)); s.listen(8); print("ready", flush=True)
conns = []
for _ in range(%d):
    c, _ = s.accept(); c.recv(100); c.sendall(b"ok"); conns.append(c)
print("ready", flush=True)
time.sleep(1e6)
"""

TCP_HOLD_CLIENT = """
import socket, sys, time
conns = []
for sport in sys.argv[2:]:
    c = socket.create_connection((sys.argv[1], %d), timeout=10, source_address=("", int(sport)))
    c.sendall(b"hi"); assert c.recv(100) == b"ok"; conns.append(c)
print("ready", flush=True)
time.sleep(1e6)
"""


def _ready(p, what):
    line = p.stdout.readline().strip()
    if line != "ready":
        p.kill()
        raise RuntimeError(f"{what} did not start: {line!r}")


def establish_flows(topo):
    """Makes the flows through the running daemon; returns them as conntrack has them."""
    for k, v in SYSCTLS.items():
        topo.sysctl("gw", k, v)
    # a host with br_netfilter has conntrack see the bridge's frames first (tests/fastpath)
    if topo.run("gw", "test", "-e", "/proc/sys/net/bridge/bridge-nf-call-ip6tables", check=False).returncode == 0:
        topo.sysctl("gw", "net.bridge.bridge-nf-call-ip6tables", "0")
    for sport in (UDP_ASSURED_SPORT, *UDP_SPORTS):
        cli, _ = T.udp_exchange(topo, count=3, sport=sport, port=UDP_PORT)
        assert cli["echoed"] == 3, cli
    time.sleep(2.5)     # conntrack calls a UDP flow 2 s old a stream at its next packet
    cli, _ = T.udp_exchange(topo, count=3, sport=UDP_ASSURED_SPORT, port=UDP_PORT)
    assert cli["echoed"] == 3, cli
    srv = topo.popen("inet", T.PYTHON, "-c", TCP_HOLD_SERVER % (TCP_PORT, len(TCP_SPORTS)),
                     stdout=subprocess.PIPE, text=True)
    _ready(srv, "TCP server")
    cli = topo.popen("lan6", T.PYTHON, "-c", TCP_HOLD_CLIENT % TCP_PORT, T.INET_ADDR6, *map(str, TCP_SPORTS),
                     stdout=subprocess.PIPE, text=True)
    _ready(cli, "TCP client")
    _ready(srv, "TCP server")
    want = {(UDP, s) for s in (*UDP_SPORTS, UDP_ASSURED_SPORT)} | {(TCP, s) for s in TCP_SPORTS}

    def ours():
        flows = [f for f in parse_conntrack(topo.run("gw", "conntrack", "-L", "-f", "ipv6").stdout)
                 if (f.proto, f.sport) in want and f.src == ipaddress.IPv6Address(T.LAN6_ADDR)]
        ok = len(flows) == len(want) and all(f.assured for f in flows if f.proto == TCP or
                                             f.sport == UDP_ASSURED_SPORT)
        return flows if ok else None

    return T.wait_for(ours, timeout=10, what="the flows' conntrack entries")


class FastPathUnavailable(RuntimeError):
    pass


@contextmanager
def gateway_with_flows(workdir):
    """The topology, a private bus and the daemon (as tests/lib/fixtures.py makes them), the
    flows made with FastPath=no, then reloaded with FastPath=yes, as it is while the fuzz runs."""
    import gatewayd as gw_lib
    from privbus import PrivateBus
    topo = T.Topology().create()
    bus = g = None
    try:
        bus = PrivateBus(policy_files=[Path(gw_lib.ROOT) / "units" / "org.nat64.Gateway1.conf"]).start()
        g = gw_lib.Gatewayd(topo, bus, Path(workdir) / "gatewayd", config_text=SLOW_CONF).start()
        flows = establish_flows(topo)
        g.config.write_text(FAST_CONF)
        g.call("Reload")
        if json.loads(g.get_property("FastPathActive").stdout)["data"] is not True:
            raise FastPathUnavailable("FastPath=yes is not active here (conntrack's kfuncs?)")
        yield topo, flows
    finally:
        if g:
            g.close()
        if bus:
            bus.stop()
        topo.destroy()


# ---------------------------------------------------------------------------
# Configurations of the tool

class Config:
    def __init__(self, name, clients):
        self.name = name
        self.clients = [ipaddress.IPv6Network(c) for c in clients]
        self.flags = ["--redirect", "--prefix", str(PREFIX), "--pool4", T.GW_WAN_ADDR, "--port-range",
                      "32768-65535", "--counter-changes"]
        for c in clients:
            self.flags += ["--fastpath-client", c]

    def is_client(self, a):
        return any(a in c for c in self.clients)


CONFIGS = [
    Config("fastpath", [CLIENT_PREFIX]),                # as the daemon fills the map
    # every address a client: reply tuples get as far as the lookup (its direction check)
    Config("fastpath-any", ["::/0"]),
]


class Tool(xlat.Xlat):
    """nat64-xlat-run in this namespace, answers with their counter changes."""

    def __init__(self, cfg, *extra):
        super().__init__(*cfg.flags, "--translator-ifindex", str(translator_link()[0]), *extra,
                         counters=False, netns=False)

    @staticmethod
    def _parse(line):
        rv, _, rest = line.strip().partition(" ")
        if rv == "error":
            return None, None, {}
        hexframe, _, changes = rest.partition(" ")
        moved = {}
        for c in changes.split(","):
            if "+" in c:
                name, n = c.split("+")
                moved[name] = int(n)
        return int(rv), (None if hexframe in ("-", "") else bytes.fromhex(hexframe)), moved


# ---------------------------------------------------------------------------
# The NAT66 rewrite, from the entry (independent of the program)

def fold_add(a, b):
    s = a + b
    return (s & 0xFFFF) + (s >> 16)


def incremental(check, old, new):
    """RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') over the 16-bit words of old -> new."""
    s = (~check) & 0xFFFF
    for i in range(0, len(old), 2):
        s = fold_add(s, (~int.from_bytes(old[i:i + 2], "big")) & 0xFFFF)
        s = fold_add(s, int.from_bytes(new[i:i + 2], "big"))
    return (~s) & 0xFFFF


def nat66(frame, flow):
    """F with the entry's source address and port, hop limit - 1, L4 checksum updated."""
    b = bytearray(frame)
    proto = b[20]
    l4 = 54
    coff = l4 + (16 if proto == TCP else 6)
    old = bytes(b[22:38]) + bytes(b[l4:l4 + 2])
    new = flow.nat_src.packed + struct.pack("!H", flow.nat_sport)
    c = incremental(int.from_bytes(b[coff:coff + 2], "big"), old, new)
    if proto == UDP and c == 0:
        c = 0xFFFF      # UDP's 0 is "no checksum": the kernel writes it as 0xffff (CSUM_MANGLED_0)
    b[coff:coff + 2] = struct.pack("!H", c)
    b[22:38] = flow.nat_src.packed
    b[l4:l4 + 2] = struct.pack("!H", flow.nat_sport)
    b[21] -= 1
    return bytes(b)


def scapy_nat66_agrees(frame, rewritten):
    """For an F whose L4 checksum is valid: scapy's sum over N(F)'s bytes gives the checksum the
    incremental update gave (or -0). The bytes, not a rebuilt packet: scapy re-serializes junk
    TCP options its own way. (Where UDP's length is not the IPv6 payload's, scapy's UDP would
    sum another length: not judged.)"""
    from scapy.layers.inet6 import IPv6, in6_chksum
    if frame[20] == UDP and frame[58:60] != frame[18:20]:
        return True
    proto = rewritten[20]
    l4 = bytearray(rewritten[54:54 + struct.unpack("!H", rewritten[18:20])[0]])
    off = 16 if proto == TCP else 6
    have = int.from_bytes(l4[off:off + 2], "big")
    l4[off:off + 2] = b"\0\0"
    want = in6_chksum(proto, IPv6(rewritten[14:54]), bytes(l4))
    return have == want or {have, want} == {0, 0xFFFF}


# ---------------------------------------------------------------------------
# Frames

def scapy_seeds(flows):
    """(flow, frame) of each flow's packets, scapy-built (valid checksums, IPv6 lengths right)."""
    from scapy.layers.inet import TCP as sTCP, UDP as sUDP, ICMP
    from scapy.layers.inet6 import (ICMPv6EchoRequest, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                                    IPv6ExtHdrHopByHop, IPv6ExtHdrRouting)
    from scapy.packet import Raw

    data = bytes(range(256)) * 14
    out = []
    for f in flows:
        ip = IPv6(src=str(f.src), dst=str(f.dst), hlim=64, tc=0x28, fl=0x12345)

        def l4(**kw):
            if f.proto == TCP:
                return sTCP(sport=f.sport, dport=f.dport, seq=1000, ack=2000, window=512, **kw)
            return sUDP(sport=f.sport, dport=f.dport, **kw)

        flags = {"flags": "A"} if f.proto == TCP else {}
        for n in (0, 1, 7, 8, 20, 100, 512, 1000, 1232, 1400, 1432, 1452, 1480, 2000, 3000):
            out.append((f, ip / l4(**flags) / Raw(data[:n])))
        if f.proto == TCP:
            for fl in ("PA", "S", "SA", "F", "FA", "R", "RA", "U", "E", "C", "PAU", "", "FSRPAUEC"):
                out.append((f, ip / l4(flags=fl) / Raw(data[:40])))
            out.append((f, ip / l4(flags="A", options=[("MSS", 1460), ("NOP", None), ("WScale", 7)]) / Raw(data[:9])))
        else:
            out.append((f, ip / l4(chksum=0) / Raw(data[:30])))
        for ext in (IPv6ExtHdrHopByHop(), IPv6ExtHdrDestOpt(), IPv6ExtHdrRouting(segleft=0, addresses=[str(f.dst)]),
                    IPv6ExtHdrFragment(id=7, m=0), IPv6ExtHdrFragment(id=7, m=1),
                    IPv6ExtHdrFragment(id=7, offset=8, m=0)):
            out.append((f, ip / ext / l4(**flags) / Raw(data[:64])))
        out.append((f, ip / ICMPv6EchoRequest(id=f.sport, data=data[:32])))
        out.append((f, IPv6(src=str(f.src), dst=str(f.dst), nh=1) / ICMP() / Raw(data[:20])))
        out.append((f, IPv6(src=str(f.src), dst=str(f.dst), nh=59) / Raw(data[:20])))
    eth = fx.ETH6
    return [(f, eth + bytes(p)) for f, p in out]


def retarget(frame, flow):
    """A corpus frame moved onto flow's tuple (its own addresses and ports replaced)."""
    b = bytearray(frame)
    if len(b) >= 58 and b[12:14] == b"\x86\xdd":
        b[22:38], b[38:54] = flow.src.packed, flow.dst.packed
        b[54:58] = struct.pack("!HH", flow.sport, flow.dport)
    return bytes(b)


class Mutator:
    def __init__(self, rng, flows, seeds):
        self.rng = rng
        self.flows = flows
        self.seeds = seeds

    def mutate(self):
        r = self.rng
        flow, frame = r.choice(self.seeds)
        ops = [self.nothing, self.hop_limit, self.tcp_flags, self.truncate, self.junk, self.length_lie,
               self.addr_bit, self.port_bit, self.reply_tuple, self.other_proto, self.udp_zero,
               self.next_header, self.bitflip, self.other_flow]
        weights = [30, 10, 8, 6, 6, 6, 5, 5, 5, 3, 3, 3, 6, 2]
        for _ in range(r.choice((0, 1, 1, 1, 2))):
            frame = r.choices(ops, weights)[0](flow, frame)
        if r.random() < 0.5:
            frame = fx.fix_l4(frame)
        return frame[:fx.MAX_FRAME]

    def nothing(self, flow, f):
        return f

    def _set(self, f, i, v):
        if len(f) <= i:
            return f
        return f[:i] + bytes([v]) + f[i + 1:]

    def hop_limit(self, flow, f):
        return self._set(f, 21, self.rng.choice((0, 1, 2, 255, self.rng.randrange(256))))

    def tcp_flags(self, flow, f):
        return self._set(f, 54 + 13, self.rng.choice((0x10, 0x18, 0x02, 0x12, 0x01, 0x11, 0x04, 0x14, 0x00, 0xff,
                                                      0x20, 0x40, 0x80, self.rng.randrange(256))))

    def truncate(self, flow, f):
        return f[:self.rng.randint(14, len(f))]

    def junk(self, flow, f):
        return f + self.rng.randbytes(self.rng.choice((1, 2, 8, 100)))

    def length_lie(self, flow, f):
        if len(f) < 20:
            return f
        plen = struct.unpack("!H", f[18:20])[0]
        v = self.rng.choice((0, 1, 7, 8, 19, 20, plen - 1, plen + 1, plen + 8, 0xffff, self.rng.randrange(1 << 16)))
        return f[:18] + struct.pack("!H", v & 0xFFFF) + f[20:]

    def _flip(self, f, start, nbytes):
        if len(f) < start + nbytes:
            return f
        bit = self.rng.randrange(nbytes * 8)
        i = start + bit // 8
        return f[:i] + bytes([f[i] ^ (0x80 >> (bit % 8))]) + f[i + 1:]

    def addr_bit(self, flow, f):
        return self._flip(f, self.rng.choice((22, 38)), 16)

    def port_bit(self, flow, f):
        return self._flip(f, self.rng.choice((54, 56)), 2)

    def reply_tuple(self, flow, f):
        """The entry's reply tuple: from the peer to the NAT address and port."""
        if len(f) < 58:
            return f
        return (f[:22] + flow.dst.packed + flow.nat_src.packed + struct.pack("!HH", flow.dport, flow.nat_sport) +
                f[58:])

    def other_proto(self, flow, f):
        return self._set(f, 20, UDP if f[20:21] == bytes([TCP]) else TCP)

    def udp_zero(self, flow, f):
        return f[:60] + b"\0\0" + f[62:] if len(f) >= 62 and f[20] == UDP else f

    def next_header(self, flow, f):
        return self._set(f, 20, self.rng.choice((0, 1, 43, 44, 58, 59, 60, 132, 136, self.rng.randrange(256))))

    def bitflip(self, flow, f):
        b = bytearray(f)
        for _ in range(self.rng.randint(1, 4)):
            i = self.rng.randrange(14, min(len(b), 94)) if len(b) > 14 else 0
            b[i] ^= 1 << self.rng.randrange(8)
        return bytes(b)

    def other_flow(self, flow, f):
        return retarget(f, self.rng.choice(self.flows)) if len(f) >= 58 else f


# ---------------------------------------------------------------------------
# The model: which frames the program may take

def model(cfg, flows, f):
    """("pass", None): not the fast path's (no counter); ("punt", reason): must punt so;
    ("take", flow): one of the flows' packets, to be taken (young UDP: or punt udp-stream)."""
    if len(f) < 54 or f[12:14] != b"\x86\xdd" or f[14] >> 4 != 6:
        return "pass", None
    src, dst = ipaddress.IPv6Address(f[22:38]), ipaddress.IPv6Address(f[38:54])
    if dst not in PREFIX or not cfg.is_client(src):
        return "pass", None
    proto, hlim = f[20], f[21]
    if proto not in (TCP, UDP):
        return "punt", "header"
    if hlim <= 1:
        return "punt", "route"
    if proto == TCP:
        if len(f) < 54 + 20:
            return "punt", "header"
        if f[54 + 13] & 0x07:
            return "punt", "tcp-control"
    else:
        if len(f) < 54 + 8:
            return "punt", "header"
        if f[60:62] == b"\0\0":
            return "punt", "header"
    if len(f) - ETHER_LEN > translator_link()[1]:
        return "punt", "route"                  # the slow path's forwarding answers it
    sport, dport = struct.unpack("!HH", f[54:58])
    for fl in flows:
        if fl.proto != proto:
            continue
        if (src, dst, sport, dport) == (fl.src, fl.dst, fl.sport, fl.dport):
            return "take", fl
        if (src, dst, sport, dport) == (fl.dst, fl.nat_src, fl.dport, fl.nat_sport):
            return "punt", "not-established"    # the reply direction
    return "punt", "no-entry"


def _masked(frame):
    """The frame without what differs between two runs of the same translation: the IPv4 ID
    (and the header checksum over it), the L4 checksum's sign of zero."""
    b = bytearray(frame)
    if len(b) >= 34 and b[12:14] == b"\x08\x00":
        b[18:20] = b[24:26] = b"\0\0"
        p = fx.parse(frame)
        if p.ok and not p.frag and p.proto in (TCP, UDP):
            off = 14 + p.l4_off + (16 if p.proto == TCP else 6)
            if off + 2 <= len(b) and b[off:off + 2] == b"\xff\xff" and p.proto == TCP:
                b[off:off + 2] = b"\0\0"
    return bytes(b)


def check_taken(f, flow, out, ref_rv, ref_out, rv):
    """The fast path's answer to f against xlat_6to4's to N(f)."""
    if ref_rv is None:
        return "the reference run failed"
    if rv != ref_rv:
        return f"verdict {rv}, xlat_6to4 of the NAT66 rewrite says {ref_rv}"
    if (out is None) != (ref_out is None) or (out is not None and _masked(out) != _masked(ref_out)):
        return f"not xlat_6to4 of the NAT66 rewrite ({xlat.hexdiff(_masked(out), _masked(ref_out))})"
    if out is None:
        return None
    pin, pout = fx.parse(f), fx.parse(out)
    if rv == xlat.TC_ACT_REDIRECT and pout.family != 4:
        # 6to4 answering with an ICMPv6 error would answer the NAT address, not the client
        return "taken and answered with IPv6 (an ICMPv6 error to the NAT address?)"
    if pout.family == 4 and pout.ok:
        if fx.addr(pout.src) != ipaddress.IPv4Address(T.GW_WAN_ADDR) or \
                fx.addr(pout.dst) != xlat.extract(PREFIX, flow.dst):
            return f"translated {fx.addr(pout.src)} -> {fx.addr(pout.dst)} (flow {flow})"
        if pout.l3[8] != f[21] - 1:
            return f"TTL {pout.l3[8]} for hop limit {f[21]} (the fast path's hop, then 6to4's copy)"
        if len(pout.l4) >= 4 and struct.unpack("!H", pout.l4[:2])[0] != flow.nat_sport:
            return f"source port {struct.unpack('!H', pout.l4[:2])[0]} (entry: {flow.nat_sport})"
        hdr_ok, l4_ok = scapy_checksums(out, pout)
        if not hdr_ok:
            return "IPv4 header checksum (scapy)"
        rin, rout = fx.l4_residual(pin), fx.l4_residual(pout)
        if rin is not None and not pout.frag:
            if rin == 0xFFFF and not l4_ok:
                return "valid L4 checksum in, scapy finds it invalid out"
            if rin != 0xFFFF and (rout is None or rin % 0xFFFF != rout % 0xFFFF):
                return f"L4 checksum wrong by another amount (in {rin:#x}, out {rout})"
    return None


def scapy_checksums(out, pout):
    """(IPv4 header checksum right, L4 checksum right) as scapy sums the bytes (no re-serializing:
    scapy would rebuild junk TCP options its own way)."""
    from scapy.layers.inet import IP, in4_chksum
    from scapy.utils import checksum
    ihl = pout.l4_off
    hdr_ok = checksum(out[14:14 + ihl]) == 0
    if pout.frag or pout.proto not in (TCP, UDP):
        return hdr_ok, True
    return hdr_ok, in4_chksum(pout.proto, IP(out[14:14 + ihl]), pout.l4) in (0, 0xFFFF)


def check(cfg, flows, f, rv, out, moved):
    """-> (outcome, failure or None, needs the reference)."""
    kind, arg = model(cfg, flows, f)
    punts = [k[len(PUNT):] for k in moved if k.startswith(PUNT)]
    if rv is None:
        if len(f) < 54:
            return "refused", None, False      # BPF_PROG_TEST_RUN wants the whole IPv6 header
        return "error", "the test run failed", False
    if moved.get(TAKEN):
        if kind != "take":
            return "taken", f"taken, must not be ({kind} {arg})", False
        if moved.get("drop-too-big"):
            return "taken", f"{TOO_BIG} (verdict {rv}, counters {moved})", False
        return "taken", None, True
    if rv == xlat.TC_ACT_SHOT:
        return "drop", f"dropped without being taken (counters {moved})", False
    if rv != xlat.TC_ACT_OK or out != f:
        return f"rv={rv}", f"not taken, yet verdict {rv} / frame changed (counters {moved})", False
    if kind == "pass":
        if moved:
            return "pass", f"not the fast path's, yet counters {moved}", False
        return "pass", None, False
    if len(punts) != 1 or sum(moved.values()) != 1:
        return "punt?", f"left to the slow path with counters {moved}", False
    outcome = "punt-" + punts[0]
    if kind == "punt" and punts[0] != arg:
        return outcome, f"punted {punts[0]}, the rules say {arg}", False
    if kind == "take" and not (flow_young(arg) and punts[0] == "udp-stream"):
        return outcome, f"a packet of {arg} punted {punts[0]}", False
    return outcome, None, False


# ---------------------------------------------------------------------------
# Replies from the WAN: the cached one pass against the general way
#
# The general way (4to6, its tail call into the fast path: conntrack, the
# de-NAT, the FIB) is the one the rest of the suite holds to scapy and the
# RFCs; a tool with --fastpath-uncached answers every frame that way. A
# second tool answers each frame twice in a row, so that a frame the
# general way took is answered from its flow's slot the second time
# (nat64_fastpath_4to6_cached()). Both answers must be the reference's,
# verdict, bytes and counters (fastpath-cached aside), and a frame the
# reference took must have been taken from the slot the second time.

REPLY_TAKEN = "fastpath-4to6"
CACHED = "fastpath-cached"
UDP_STREAM_PUNT = PUNT + "udp-stream"


def ipv4_of(a):
    """The IPv4 address in the last 32 bits of an IPv6 one (RFC 6052, /96)."""
    return str(ipaddress.IPv4Address(int(a) & 0xFFFFFFFF))


def reply_seeds(flows):
    """(flow, frame) of each flow's replies as the WAN delivers them, scapy-built."""
    from scapy.layers.inet import IP, TCP as sTCP, UDP as sUDP
    from scapy.packet import Raw

    data = bytes(range(256)) * 14
    out = []
    for f in flows:
        for n in (0, 1, 20, 100, 512, 1200, 1232, 1240, 1260, 1280, 1400, 1452, 1480):
            for flags, tos, ttl in (("DF", 0, 64), (0, 0xB8, 2), ("DF", 0x2A, 255)):
                ip = IP(src=ipv4_of(f.dst), dst=ipv4_of(f.nat_src), ttl=ttl, tos=tos, flags=flags, id=n)
                if f.proto == TCP:
                    l4 = sTCP(sport=f.dport, dport=f.nat_sport, seq=2000, ack=1000, flags="A", window=512)
                else:
                    l4 = sUDP(sport=f.dport, dport=f.nat_sport)
                out.append((f, ip / l4 / Raw(data[:n])))
        if f.proto == TCP:
            for fl in ("PA", "S", "SA", "F", "FA", "R", "U", "", "FSRPAUEC"):
                out.append((f, IP(src=ipv4_of(f.dst), dst=ipv4_of(f.nat_src)) /
                            sTCP(sport=f.dport, dport=f.nat_sport, flags=fl) / Raw(data[:40])))
        else:
            out.append((f, IP(src=ipv4_of(f.dst), dst=ipv4_of(f.nat_src)) /
                        sUDP(sport=f.dport, dport=f.nat_sport, chksum=0) / Raw(data[:30])))
    return [(f, fx.ETH4 + bytes(p)) for f, p in out]


class ReplyMutator:
    """Byte mutations of an IPv4 reply frame (IPv4 header at 14, no options)."""

    def __init__(self, rng, seeds):
        self.rng = rng
        self.seeds = seeds

    def mutate(self):
        r = self.rng
        _, frame = r.choice(self.seeds)
        b = bytearray(frame)
        for _ in range(r.choice((0, 0, 1, 1, 2))):
            op = r.randrange(12)
            if op == 0 and len(b) > 22:                 # TTL
                b[22] = r.choice((0, 1, 2, 255))
            elif op == 1 and len(b) > 47:               # TCP flags
                b[47] = r.randrange(256)
            elif op == 2:                               # truncate
                del b[r.randrange(len(b) + 1):]
            elif op == 3:                               # padding or junk after the datagram
                b += bytes(r.randrange(1, 40))
            elif op == 4 and len(b) > 17:               # Total Length lies
                struct.pack_into("!H", b, 16, max(0, len(b) - 14 + r.choice((-9, -1, 1, 8, 300))))
            elif op == 5 and len(b) > 21:               # fragment bits: MF, an offset, DF toggled
                b[20] ^= r.choice((0x20, 0x40, 0x01))
            elif op == 6 and len(b) > 37:               # an address or port bit
                i = r.randrange(26, 38)
                b[i] ^= 1 << r.randrange(8)
            elif op == 7 and len(b) > 41:               # UDP checksum 0
                b[40:42] = b"\0\0"
            elif op == 8 and len(b) > 23:               # another protocol
                b[23] = r.choice((1, 6, 17, 47, 58))
            elif op == 9 and len(b) > 14:               # IHL (options or a lie)
                b[14] = 0x40 | r.choice((4, 5, 6, 15))
            elif op == 10 and len(b) > 15:              # TOS
                b[15] = r.randrange(256)
            elif b:
                i = r.randrange(len(b))
                b[i] ^= 1 << r.randrange(8)
        frame = bytes(b)
        if r.random() < 0.7:
            frame = fx.fix_ipv4_header(frame)
        if r.random() < 0.5:
            frame = fx.fix_l4(frame)
        return frame[:fx.MAX_FRAME]


def slot_refuses(frame):
    """Why nat64_fastpath_4to6_cached() leaves a frame to the general way whatever its slot says, or None."""
    if len(frame) < 14 + 20 or frame[14] != 0x45:
        return "IPv4 options"
    if 14 + struct.unpack_from("!H", frame, 16)[0] != len(frame):
        return "padding"
    if frame[23] == UDP and frame[40:42] == b"\0\0":
        return "UDP checksum 0"
    return None


def check_reply(frame, ref, first, second):
    """None, or why the cached tool's answers to a frame are not the reference's."""
    def plain(answer):
        rv, out, moved = answer
        return rv, out, {k: v for k, v in moved.items() if k != CACHED}

    if ref[2].get(CACHED):
        return "the uncached reference counted fastpath-cached"
    if any(a[2].get(UDP_STREAM_PUNT) for a in (ref, first, second)):
        return None     # the 2 s of a young UDP flow ran out in one tool and not yet in the other
    for name, a in (("first", first), ("second", second)):
        if plain(a) != plain(ref):
            return (f"cached reply ({name} answer) is not the general way's (verdict {a[0]} vs {ref[0]}, "
                    f"counters {a[2]} vs {ref[2]}, {'same' if a[1] == ref[1] else 'other'} bytes)")
    return None


def fuzz_replies_here(flows, packets, seed, failures, log=print):
    """The reply direction's differential fuzzing (above); -> Counter of outcomes."""
    rng = random.Random(seed ^ 0x4764)
    seeds = reply_seeds(flows)
    mut = ReplyMutator(rng, seeds)
    cfg = CONFIGS[0]
    stats = collections.Counter()
    frames = [f for _, f in seeds] + [mut.mutate() for _ in range(packets)]
    ref_tool = Tool(cfg, "--fastpath-uncached")
    # the slots are per CPU: the tool answering each frame twice stays on one
    with T.on_one_cpu():
        tool = Tool(cfg)
    try:
        refs = ref_tool.run_many([("4to6", f) for f in frames])
        got = tool.run_many([("4to6", f) for f in frames for _ in (0, 1)])
    except xlat.XlatError as e:
        failures.tool_failure(cfg, e)
        return stats
    finally:
        ref_tool.close()
        tool.close()
    eligible = missed = 0
    for i, (f, ref) in enumerate(zip(frames, refs)):
        first, second = got[2 * i], got[2 * i + 1]
        why = check_reply(f, ref, first, second)
        stats["reply " + ("taken" if ref[2].get(REPLY_TAKEN) else f"rv={ref[0]}")] += 1
        stats["reply cached"] += 1 if second[2].get(CACHED) else 0
        if ref[2].get(REPLY_TAKEN) and not slot_refuses(f):
            eligible += 1
            missed += 0 if second[2].get(CACHED) else 1
        if why:
            failures.add(cfg, "4to6", 0, f, why, second[1])
    # a slot lives two ticks (4-8 ms at HZ=250): a stall of the tool between a frame's two answers
    # misses it now and then; a cache that is not used misses them all
    if eligible and missed > eligible // 20:
        failures.add(cfg, "4to6", 0, b"", f"{missed} of {eligible} replies the general way took "
                     "were not taken from their slot right after")
    return stats


def flow_young(flow):
    return flow.proto == UDP and not flow.assured


# ---------------------------------------------------------------------------

def fuzz_here(flows, packets=20000, seed=1, batch=20000, jobs=None, save=True, log=print):
    """The fuzzing proper; runs in the gateway's namespace (its conntrack holds flows)."""
    rng = random.Random(seed)
    seeds = scapy_seeds(flows)
    for _, frame in fx.corpus_seeds(("fastpath",)).get("fastpath", []):
        fl = rng.choice(flows)
        seeds.append((fl, retarget(frame, fl)))
    # every configuration gets its share of a small run too
    plan = fx.plan_batches(rng, packets, max(1, min(batch, -(-packets // len(CONFIGS)))), CONFIGS)
    stats = collections.Counter()
    failures = fx.Failures(save, note="".join(f"# entry: {fl.line}\n" for fl in flows), )
    lock = threading.Lock()
    t0 = time.time()

    def work(cfg, bseed, n):
        r = random.Random(bseed)
        mut = Mutator(r, flows, seeds)
        frames = [mut.mutate() for _ in range(n)]
        tool = Tool(cfg)
        try:
            res = tool.run_many([("fastpath", f) for f in frames])
            local = collections.Counter()
            taken = []
            for f, (rv, out, moved) in zip(frames, res):
                outcome, why, ref = check(cfg, flows, f, rv, out, moved)
                local[outcome] += 1
                if why:
                    failures.add(cfg, "fastpath", 0, f, why, out)
                if ref:
                    taken.append((f, model(cfg, flows, f)[1], rv, out))
            refs = tool.run_many([("6to4", nat66(f, fl)) for f, fl, _, _ in taken])
            for (f, fl, rv, out), (ref_rv, ref_out, _) in zip(taken, refs):
                why = check_taken(f, fl, out, ref_rv, ref_out, rv)
                if why is None and fx.l4_residual(fx.parse(f)) == 0xFFFF and not scapy_nat66_agrees(f, nat66(f, fl)):
                    why = "oracle: the incremental NAT66 checksum is not scapy's"
                local[f"taken rv={rv}"] += 1
                if why:
                    failures.add(cfg, "fastpath", 0, f, why, out)
        except xlat.XlatError as e:
            failures.tool_failure(cfg, e)
            return
        finally:
            tool.close()
        with lock:
            stats.update(local)

    fx.run_jobs(plan, work, jobs)
    stats.update(fuzz_replies_here(flows, max(1000, packets // 4), seed, failures, log))
    dt = time.time() - t0
    log(f"{packets} packets, {len(plan)} batches, {dt:.1f}s ({packets / max(dt, 1e-9):.0f}/s), "
        f"{len(flows)} flows")
    for k in sorted(stats):
        log(f"  {k}: {stats[k]}")
    for k, v in failures.reasons.most_common():
        log(f"  FAIL {v}x {k}")
    return failures.list, stats


def fuzz_in(topo, flows, packets, seed=1, batch=20000, jobs=None, save=True, log=print):
    """fuzz_here() in topo's gateway namespace (a child of this script there); -> (failures, stats)."""
    with tempfile.TemporaryDirectory() as d:
        spec, result = Path(d) / "flows.json", Path(d) / "result.json"
        spec.write_text(json.dumps([f.as_dict() for f in flows]))
        argv = [T.PYTHON, str(Path(__file__).resolve()), "--in-netns", str(spec), "--result", str(result),
                "--packets", str(packets), "--seed", str(seed), "--batch", str(batch)]
        argv += (["--jobs", str(jobs)] if jobs else []) + ([] if save else ["--no-save"])
        env = dict(os.environ, NAT64_BUILD_DIR=str(xlat.build_dir()))
        r = topo.run("gw", *argv, timeout=None, env=env)
        for line in r.stdout.splitlines():
            log(line)
        doc = json.loads(result.read_text())
    failures = [(n, d, m, bytes.fromhex(f), why) for n, d, m, f, why in doc["failures"]]
    return failures, collections.Counter(doc["stats"])


def describe(failures, per_reason=2):
    """The first few failures of each reason, for people."""
    shown = collections.Counter()
    lines = []
    for name, d, mark, f, why in failures:
        key = why.split(" (")[0]
        shown[key] += 1
        if shown[key] <= per_reason:
            lines.append(f"{name} {d} {f.hex()}\n  : {why}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=20000)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--in-netns", metavar="FLOWS.JSON", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.in_netns:
        flows = [Flow.from_dict(d) for d in json.loads(Path(a.in_netns).read_text())]
        failures, stats = fuzz_here(flows, a.packets, a.seed, a.batch, a.jobs, save=not a.no_save)
        Path(a.result).write_text(json.dumps({"failures": [(n, d, m, f.hex(), why) for n, d, m, f, why in failures],
                                              "stats": stats}))
        return 0
    with tempfile.TemporaryDirectory() as d, gateway_with_flows(d) as (topo, flows):
        for fl in flows:
            print(f"flow: {fl}")
        failures, _ = fuzz_in(topo, flows, a.packets, a.seed, a.batch, a.jobs, save=not a.no_save)
    print(describe(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
