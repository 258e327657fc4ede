# SPDX-License-Identifier: LGPL-2.1-or-later
"""Drive the translator through BPF_PROG_TEST_RUN with tools/nat64-xlat-run.

    with Xlat("--prefix", "2001:db8::/32") as t:
        rv, out = t.run("6to4", frame)          # out is None for TC_ACT_SHOT
        before = t.counters()                   # live, summed over CPUs
        ...
    shared("--router-mode").run(...)            # one cached process per flag set

The tool runs inside a network namespace of its own (nat64x-<pid>-<random>,
deleted at exit): bpf_clone_redirect() really sends the tail fragment of a
split packet out of the loopback device of the test-run's namespace, and
that must not be the host's.

Also here: the RFC 6052 mapping written independently of bpf/rfc6052.h
(Python ipaddress), checksum checks by re-building with scapy, and names of
the counters (parsed from bpf/nat64_shared.h, their one home).
Use /usr/bin/python3 (it has scapy).
"""

import atexit
import ipaddress
import json
import os
import re
import secrets
import struct
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TC_ACT_OK = 0
TC_ACT_SHOT = 2
TC_ACT_REDIRECT = 7
MARK_TAIL_FRAGMENT = 0x64F70001
DEFAULT_PREFIX = ipaddress.IPv6Network("64:ff9b:1:fffe::/96")
WKP = ipaddress.IPv6Network("64:ff9b::/96")

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"


def build_dir():
    return Path(os.environ.get("NAT64_BUILD_DIR", ROOT / "build"))


def tool_path():
    return build_dir() / "tools" / "nat64-xlat-run"


def bpf_object(name="nat64"):
    return build_dir() / "bpf" / f"{name}.bpf.o"


def counter_names():
    """Counter names in map order, from NAT64_COUNTERS in nat64_shared.h."""
    text = (ROOT / "bpf" / "nat64_shared.h").read_text()
    block = text[text.index("#define NAT64_COUNTERS(X)"):]
    block = block[:block.index("enum nat64_counter")]
    return re.findall(r'X\(\s*\w+,\s*"([^"]+)"', block)


# ---------------------------------------------------------------------------
# RFC 6052 §2.2, written from the RFC's figure: the IPv4 address fills the
# 32 bits after the prefix, skipping bits 64..71 (the "u" octet, always 0).

def embed(prefix, v4):
    prefix = ipaddress.IPv6Network(prefix)
    v4 = ipaddress.IPv4Address(v4)
    plen = prefix.prefixlen
    assert plen in (32, 40, 48, 56, 64, 96), plen
    out = bytearray(prefix.network_address.packed[:plen // 8].ljust(16, b"\0"))
    pos = plen // 8
    for b in v4.packed:
        if pos == 8:
            pos = 9
        out[pos] = b
        pos += 1
    return ipaddress.IPv6Address(bytes(out))


def extract(prefix, v6):
    """IPv4 inside v6 for prefix, or None when v6 is not in it."""
    prefix = ipaddress.IPv6Network(prefix)
    v6 = ipaddress.IPv6Address(v6)
    plen = prefix.prefixlen
    if v6.packed[:plen // 8] != prefix.network_address.packed[:plen // 8]:
        return None
    pos = plen // 8
    out = []
    while len(out) < 4:
        if pos == 8:
            pos = 9
        out.append(v6.packed[pos])
        pos += 1
    return ipaddress.IPv4Address(bytes(out))


# RFC 6890 / RFC 6052 §3.1: IPv4 blocks that are not global, for the WKP.
NOT_GLOBAL4 = [ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3")]


def ipv4_is_global(a):
    a = ipaddress.IPv4Address(a)
    return not any(a in n for n in NOT_GLOBAL4)


class Mapper:
    """The translator's address mapping for one configuration (EAM first,
    RFC 7757 §3.3; then the RFC 6052 prefixes; 4->6 uses the first prefix)."""

    def __init__(self, prefixes=(DEFAULT_PREFIX,), eams=()):
        self.prefixes = [ipaddress.IPv6Network(p) for p in prefixes]
        self.eams = [(ipaddress.IPv6Network(a), ipaddress.IPv4Network(b)) for a, b in eams]

    def to4(self, v6):
        v6 = ipaddress.IPv6Address(v6)
        best = None
        for n6, n4 in self.eams:
            if v6 in n6 and (best is None or n6.prefixlen > best[0].prefixlen):
                best = (n6, n4)
        if best:
            host = int(v6) & ((1 << (128 - best[0].prefixlen)) - 1)
            return ipaddress.IPv4Address(int(best[1].network_address) | host)
        for p in self.prefixes:
            v4 = extract(p, v6)
            if v4 is not None:
                if p == WKP and not ipv4_is_global(v4):
                    return None
                return v4
        return None

    def eam6(self, v6):
        """The EAM covering v6 (longest), or None."""
        v6 = ipaddress.IPv6Address(v6)
        best = None
        for n6, n4 in self.eams:
            if v6 in n6 and (best is None or n6.prefixlen > best[0].prefixlen):
                best = (n6, n4)
        return best

    def eam4(self, v4):
        v4 = ipaddress.IPv4Address(v4)
        best = None
        for n6, n4 in self.eams:
            if v4 in n4 and (best is None or n4.prefixlen > best[1].prefixlen):
                best = (n6, n4)
        return best

    def hairpin_dst(self, v6):
        """RFC 7757 §4.2 intrinsic hairpinning: a destination written with the
        prefix (not an EAM) whose IPv4 address an EAM owns -> its EAM form."""
        if self.eam6(v6) or not self.prefixes:
            return None
        v4 = self.to4(v6)
        if v4 is None or not self.eam4(v4):
            return None
        return self.to6(v4)

    def to6(self, v4):
        v4 = ipaddress.IPv4Address(v4)
        best = None
        for n6, n4 in self.eams:
            if v4 in n4 and (best is None or n4.prefixlen > best[1].prefixlen):
                best = (n6, n4)
        if best:
            host = int(v4) & ((1 << (32 - best[1].prefixlen)) - 1)
            return ipaddress.IPv6Address(int(best[0].network_address) | host)
        if not self.prefixes:
            return None
        if self.prefixes[0] == WKP and not ipv4_is_global(v4):
            return None
        return embed(self.prefixes[0], v4)


# ---------------------------------------------------------------------------
# A private network namespace for the tool

_netns = None
_netns_lock = threading.Lock()


def _delete_netns():
    global _netns
    if _netns:
        subprocess.run(["ip", "netns", "del", _netns], stderr=subprocess.DEVNULL, check=False)
        _netns = None


def private_netns():
    global _netns
    with _netns_lock:
        if _netns is None:
            name = f"nat64x-{os.getpid()}-{secrets.token_hex(3)}"
            subprocess.run(["ip", "netns", "add", name], check=True)
            _netns = name
            atexit.register(_delete_netns)
            subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        return _netns


# ---------------------------------------------------------------------------

class XlatError(RuntimeError):
    pass


class Xlat:
    """One nat64-xlat-run process configured with args (its flags)."""

    def __init__(self, *args, counters=True, netns=True):
        self.args = list(args)
        if counters and "--counters" not in self.args:
            self.args.append("--counters")
        tool = tool_path()
        if not tool.exists():
            raise XlatError(f"{tool} not built (NAT64_BUILD_DIR={build_dir()})")
        cmd = [str(tool)] + self.args
        if netns:
            cmd = ["ip", "netns", "exec", private_netns()] + cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self._map_id = None
        self.final_counters = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def pid(self):
        return self.proc.pid

    def _fail(self, what):
        self.proc.kill()
        err = self.proc.stderr.read() if self.proc.stderr else ""
        raise XlatError(f"nat64-xlat-run {' '.join(self.args)}: {what}; stderr: {err.strip()}")

    @staticmethod
    def _parse(line):
        rv, _, hexframe = line.strip().partition(" ")
        if rv == "error":
            return None, None
        return int(rv), (None if hexframe in ("-", "") else bytes.fromhex(hexframe))

    def run(self, direction, frame, mark=0):
        """-> (retval, output frame or None); retval None: the test-run failed."""
        assert direction in ("6to4", "4to6")
        try:
            self.proc.stdin.write(f"{direction} {mark:x} {bytes(frame).hex()}\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            self._fail("exited")
        line = self.proc.stdout.readline()
        if not line:
            self._fail("no answer")
        return self._parse(line)

    def run_many(self, items):
        """items: (direction, frame[, mark]) -> list of (retval, frame or None)."""
        items = list(items)

        def writer():
            try:
                for it in items:
                    mark = it[2] if len(it) > 2 else 0
                    self.proc.stdin.write(f"{it[0]} {mark:x} {bytes(it[1]).hex()}\n")
                self.proc.stdin.flush()
            except BrokenPipeError:
                pass

        th = threading.Thread(target=writer, daemon=True)
        th.start()
        out = []
        for _ in items:
            line = self.proc.stdout.readline()
            if not line:
                th.join(1)
                self._fail(f"no answer after {len(out)} of {len(items)} frames")
            out.append(self._parse(line))
        th.join()
        return out

    # -- counters -----------------------------------------------------------

    def _find_counter_map(self):
        if self._map_id is not None:
            return self._map_id
        fd_dir = Path(f"/proc/{self.pid}/fd")
        for _ in range(600):     # the tool may still be loading the object
            for fd in fd_dir.iterdir():
                try:
                    if os.readlink(fd) != "anon_inode:bpf-map":
                        continue
                    info = (Path(f"/proc/{self.pid}/fdinfo") / fd.name).read_text()
                except OSError:
                    continue
                m = re.search(r"map_id:\s*(\d+)", info)
                if not m:
                    continue
                show = subprocess.run(["bpftool", "-j", "map", "show", "id", m.group(1)],
                                      capture_output=True, text=True)
                if show.returncode == 0 and json.loads(show.stdout).get("name") == "nat64_counters":
                    self._map_id = int(m.group(1))
                    return self._map_id
            if self.proc.poll() is not None:
                self._fail("exited")
            time.sleep(0.1)
        self._fail("no nat64_counters map")

    def counters(self):
        """Live counters (bpftool, summed over CPUs) as {name: value}."""
        if self.proc.poll() is None:
            # the object is loaded once the tool answered one line; make sure
            self.run("6to4", b"")
            map_id = self._find_counter_map()
            res = subprocess.run(["bpftool", "-j", "map", "lookup", "id", str(map_id),
                                  "key", "0", "0", "0", "0"], capture_output=True, text=True, check=True)
            doc = json.loads(res.stdout)
            names = counter_names()
            total = [0] * len(names)
            for v in doc["values"]:
                raw = bytes(int(x, 16) for x in v["value"])
                vals = struct.unpack(f"<{len(raw) // 8}Q", raw)
                total = [a + b for a, b in zip(total, vals)]
            return dict(zip(names, total))
        if self.final_counters is None:
            raise XlatError("exited without counters")
        return dict(self.final_counters)

    def close(self):
        """Ends the process; returns the counters it printed (if any)."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
            rest = self.proc.stdout.read()
            self.proc.wait(timeout=60)
            if "counters\n" in rest:
                tail = rest[rest.index("counters\n") + len("counters\n"):]
                self.final_counters = {k: int(v) for k, v in
                                       (ln.split() for ln in tail.splitlines() if ln.strip())}
        return self.final_counters


def counter_delta(before, after):
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


_shared = {}


def shared(*args):
    """A cached Xlat per flag set, closed at exit (counters: use deltas)."""
    key = tuple(args)
    t = _shared.get(key)
    if t is None or t.proc.poll() is not None:
        t = _shared[key] = Xlat(*args)
    return t


def _close_shared():
    for t in _shared.values():
        try:
            t.close()
        except Exception:   # noqa: BLE001 - best effort at exit
            t.proc.kill()


atexit.register(_close_shared)


# ---------------------------------------------------------------------------
# Checksums: re-build with scapy and compare

def checksum_problems(frame):
    """Names of the checksums in frame that scapy would compute differently.

    The quoted packet inside an ICMP error is not checked (it is truncated);
    L4 of IPv4/IPv6 fragments is not checked (it covers the whole datagram);
    IPv4 UDP checksum 0 means "none".
    """
    from scapy.layers.inet import IP, TCP, UDP, ICMP, IPerror
    from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, IPerror6, _ICMPv6
    from scapy.layers.l2 import Ether

    frame = bytes(frame)
    problems = []
    pkt = Ether(frame)
    fragment = False
    if IP in pkt and not isinstance(pkt[IP], IPerror):
        ip = pkt[IP]
        fragment = bool(ip.flags.MF) or ip.frag != 0
        q = pkt.copy()
        del q[IP].chksum
        if bytes(q)[:len(frame)] != frame:
            problems.append("ipv4-header")
    if IPv6ExtHdrFragment in pkt:
        f = pkt[IPv6ExtHdrFragment]
        fragment = fragment or f.m or f.offset
    if fragment:
        return problems
    layer = pkt
    while layer and not isinstance(layer, (IPerror, IPerror6)):
        name = None
        if isinstance(layer, (TCP, UDP, ICMP)):
            name = "chksum"
        elif isinstance(layer, _ICMPv6):
            name = "cksum"
        if name:
            if isinstance(layer, UDP) and layer.chksum == 0 and IPv6 not in pkt:
                break
            q = pkt.copy()
            target = q[type(layer)]
            setattr(target, name, None)
            if bytes(q)[:len(frame)] != frame:
                problems.append(type(layer).__name__)
            break
        layer = layer.payload
    return problems


def hexdiff(a, b):
    """A short description of where two byte strings differ."""
    a, b = bytes(a or b""), bytes(b or b"")
    diffs = [i for i in range(max(len(a), len(b))) if i >= len(a) or i >= len(b) or a[i] != b[i]]
    if not diffs:
        return "identical"
    shown = ", ".join(f"@{i}: {a[i]:02x}!={b[i]:02x}" if i < len(a) and i < len(b) else f"@{i}: len"
                      for i in diffs[:12])
    return f"len {len(a)} vs {len(b)}; {len(diffs)} bytes differ: {shown}\n got: {a.hex()}\nwant: {b.hex()}"
