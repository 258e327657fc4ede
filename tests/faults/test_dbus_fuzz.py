# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fuzzing of org.nat64.Gateway1's arguments over the real bus, against the real daemon.

Every method and property of gatewayd/org.nat64.Gateway1.xml is called, as
root, through the private dbus-daemon of the fixtures with wrong argument
types and counts, empty, very long (64 KiB) and control-character strings,
Unicode noncharacters, almost valid addresses (9 groups, an octet 256, a
prefix length, a zone index, unicast where a group is expected), maps that
collide with existing ones, maps that do not exist and duplicates, and a
full table (4096 maps from the file). The XML has no writable property:
Set() of every property, with its own type and others, must be refused with
PropertyReadOnly (a writable one would need an oracle here). Then a
seeded random generator mixes all of it (the seed is in the test id and in
every failure; NAT64_DBUS_FUZZ_SEED / NAT64_DBUS_FUZZ_CALLS override it).

On every call:
  * the reply is the outcome an oracle predicts: a D-Bus error of the
    documented name (InvalidArgs, LimitsExceeded, NoSuchStaticMap, sd-bus'
    UnknownMethod/UnknownProperty/PropertyReadOnly ...), or success when the
    arguments happen to be valid, which the test then undoes;
  * the oracle decides what an address is with Python's ipaddress, not with
    the daemon's rules (the product's rules, ff00::/8 wider than link scope,
    224.0.0.0/4 without 224.0.0.0/24 and no group mapped twice, are written
    with ipaddress too);
  * StaticMaps is what the oracle says it is, and after the call (and its
    undo) every property (GetAll) is unchanged; after write calls also the
    daemon's nft table.
At the end of each test the operator's view (GetAll, `nft -s list table inet
nat64_gateway`, the proto 64 routes) equals the one before, the daemon has
the same PID and bus name and is running, and it still translates (ping,
UDP, NAT46 and the configured multicast map).

The calls go through a small raw D-Bus client below, as root (EXTERNAL
authentication with uid 0): busctl cannot send invalid UTF-8, broken framing
or NO_REPLY_EXPECTED, and a process per call would make thousands of calls slow. Messages the bus must refuse itself (invalid UTF-8,
NUL in a string, bad framing) are sent on throw-away connections: the
dbus-daemon drops the connection, and the daemon sees nothing.
"""

import functools
import ipaddress
import json
import os
import random
import re
import select
import socket
import struct
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

import gatewayd as gw_lib
import topology as T

XML = gw_lib.ROOT / "gatewayd" / "org.nat64.Gateway1.xml"
NAME, PATH, IFACE = "org.nat64.Gateway1", "/org/nat64/Gateway1", "org.nat64.Gateway1"
PROPS = "org.freedesktop.DBus.Properties"
PEER = "org.freedesktop.DBus.Peer"

SEED = int(os.environ.get("NAT64_DBUS_FUZZ_SEED", "6052"))
RANDOM_CALLS = int(os.environ.get("NAT64_DBUS_FUZZ_CALLS", "400"))
MAX_STATIC_MAPS = 4096          # nat64-gatewayd(8), AddStaticMap()

OK = "ok"
E = "org.freedesktop.DBus.Error."
INVALID_ARGS = E + "InvalidArgs"
LIMITS_EXCEEDED = E + "LimitsExceeded"
UNKNOWN_METHOD = E + "UnknownMethod"
UNKNOWN_OBJECT = E + "UnknownObject"
UNKNOWN_PROPERTY = E + "UnknownProperty"
UNKNOWN_INTERFACE = E + "UnknownInterface"
READ_ONLY = E + "PropertyReadOnly"
NO_SUCH_MAP = "org.nat64.Gateway1.Error.NoSuchStaticMap"
HA_NOT_CONFIGURED = "org.nat64.Gateway1.Error.HANotConfigured"     # the fuzzed gateway has no [HA]

FLAG_NO_REPLY, FLAG_NO_AUTO_START, FLAG_INTERACTIVE = 0x1, 0x2, 0x4

KiB64 = 65536


# == a raw D-Bus client (little endian; enough of the wire format to fuzz) ======

ALIGN = {"y": 1, "b": 4, "n": 2, "q": 2, "i": 4, "u": 4, "x": 8, "t": 8, "d": 8, "h": 4,
         "s": 4, "o": 4, "g": 1, "a": 4, "(": 8, "{": 8, "v": 1}
FIXED = {"y": "B", "n": "h", "q": "H", "i": "i", "u": "I", "x": "q", "t": "Q", "d": "d", "h": "I"}


def split_signature(sig):
    """'sa{sv}(ii)' -> ['s', 'a{sv}', '(ii)']"""
    out, i = [], 0
    while i < len(sig):
        j = _type_end(sig, i)
        out.append(sig[i:j])
        i = j
    return out


def _type_end(sig, i):
    if sig[i] == "a":
        return _type_end(sig, i + 1)
    if sig[i] in "({":
        close, j = ")" if sig[i] == "(" else "}", i + 1
        while sig[j] != close:
            j = _type_end(sig, j)
        return j + 1
    return i + 1


class Writer:
    def __init__(self):
        self.buf = bytearray()

    def pad(self, n):
        self.buf += b"\0" * ((-len(self.buf)) % n)

    def write(self, t, v):
        c = t[0]
        self.pad(ALIGN[c])
        if c in FIXED:
            self.buf += struct.pack("<" + FIXED[c], v)
        elif c == "b":
            self.buf += struct.pack("<I", int(v))
        elif c in "so":
            b = v if isinstance(v, bytes) else v.encode("utf-8", "surrogatepass")
            self.buf += struct.pack("<I", len(b)) + b + b"\0"
        elif c == "g":
            b = v if isinstance(v, bytes) else v.encode()
            self.buf += struct.pack("<B", len(b)) + b + b"\0"
        elif c == "v":
            self.write("g", v[0])
            self.write(v[0], v[1])
        elif c == "a":
            at = len(self.buf)
            self.buf += b"\0\0\0\0"
            self.pad(ALIGN[t[1]])
            start = len(self.buf)
            for item in (v.items() if t[1] == "{" else v):
                self.write(t[1:], item)
            struct.pack_into("<I", self.buf, at, len(self.buf) - start)
        elif c in "({":
            for sub, val in zip(split_signature(t[1:-1]), v):
                self.write(sub, val)
        else:
            raise ValueError(f"cannot marshal {t!r}")


class Reader:
    def __init__(self, data, endian):
        self.data, self.pos, self.e = data, 0, endian

    def read(self, t):
        c = t[0]
        self.pos += (-self.pos) % ALIGN[c]
        if c in FIXED or c == "b":
            fmt = self.e + FIXED.get(c, "I")
            (v,) = struct.unpack_from(fmt, self.data, self.pos)
            self.pos += struct.calcsize(fmt)
            return bool(v) if c == "b" else v
        if c in "sog":
            if c == "g":
                n, self.pos = self.data[self.pos], self.pos + 1
            else:
                (n,) = struct.unpack_from(self.e + "I", self.data, self.pos)
                self.pos += 4
            v = self.data[self.pos:self.pos + n].decode()
            self.pos += n + 1
            return v
        if c == "v":
            return self.read(self.read("g"))
        if c == "a":
            (n,) = struct.unpack_from(self.e + "I", self.data, self.pos)
            self.pos += 4 + (-(self.pos + 4)) % ALIGN[t[1]]
            end, items = self.pos + n, []
            while self.pos < end:
                items.append(self.read(t[1:]))
            return dict(items) if t[1] == "{" else items
        if c in "({":
            return tuple(self.read(sub) for sub in split_signature(t[1:-1]))
        raise ValueError(f"cannot unmarshal {t!r}")


class Message:
    def __init__(self, mtype, serial, fields, body):
        self.type, self.serial, self.fields, self.body = mtype, serial, fields, body

    @property
    def outcome(self):
        """"ok" for a method return, else the error name."""
        return OK if self.type == 2 else self.fields.get(4)

    def __repr__(self):
        return f"<{self.outcome} {self.body!r:.300}>"


class BusClosed(Exception):
    pass


class RawBus:
    """One connection to the bus, authenticated as our (root) uid."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.rbuf, self.serial = b"", 0
        self.replies = {}       # serial -> Message, replies nobody waited for yet
        self.sock.sendall(b"\0AUTH EXTERNAL " + str(os.geteuid()).encode().hex().encode() + b"\r\n")
        while b"\r\n" not in self.rbuf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise BusClosed("closed during authentication")
            self.rbuf += chunk
        line, self.rbuf = self.rbuf.split(b"\r\n", 1)
        assert line.startswith(b"OK "), line
        self.sock.sendall(b"BEGIN\r\n")
        self.unique_name = self.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                     "Hello").body[0]

    def close(self):
        self.sock.close()

    def encode(self, dest, path, iface, member, signature="", args=(), flags=0, body=None):
        """(serial, bytes) of a method call; body (raw bytes) replaces args' marshalling."""
        if body is None:
            w = Writer()
            for t, v in zip(split_signature(signature), args):
                w.write(t, v)
            body = bytes(w.buf)
        self.serial += 1
        fields = [(code, (t, v)) for code, t, v in ((1, "o", path), (2, "s", iface), (3, "s", member),
                                                    (6, "s", dest), (8, "g", signature)) if v]
        h = Writer()
        h.buf += struct.pack("<cBBBII", b"l", 1, flags, 1, len(body), self.serial)
        h.write("a(yv)", fields)
        h.pad(8)
        return self.serial, bytes(h.buf) + body

    def send(self, *a, **kw):
        serial, data = self.encode(*a, **kw)
        self.sock.sendall(data)
        return serial

    def _fill(self, n, deadline):
        while len(self.rbuf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply within the timeout (a hang?)")
            if not select.select([self.sock], [], [], left)[0]:
                continue
            try:
                chunk = self.sock.recv(1 << 16)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise BusClosed("the bus closed the connection")
            self.rbuf += chunk

    def receive(self, deadline):
        self._fill(16, deadline)
        endian = "<" if self.rbuf[:1] == b"l" else ">"
        mtype, _, _, blen, serial, flen = struct.unpack_from(endian + "BBBIII", self.rbuf, 1)
        hlen = 16 + flen + (-(16 + flen)) % 8
        self._fill(hlen + blen, deadline)
        data, self.rbuf = self.rbuf[:hlen + blen], self.rbuf[hlen + blen:]
        r = Reader(data, endian)
        r.pos = 12
        fields = dict(r.read("a(yv)"))
        body = Reader(data[hlen:], endian)
        return Message(mtype, serial, fields, tuple(body.read(t) for t in split_signature(fields.get(8, ""))))

    def wait_reply(self, serial, timeout=5.0):
        deadline = time.monotonic() + timeout
        while serial not in self.replies:
            m = self.receive(deadline)
            if m.type in (2, 3):
                self.replies[m.fields.get(5)] = m
        return self.replies.pop(serial)

    def call(self, *a, timeout=5.0, **kw):
        return self.wait_reply(self.send(*a, **kw), timeout)


# == the API, from the introspection XML ========================================

def load_api():
    iface = next(i for i in ET.parse(XML).getroot().iter("interface") if i.get("name") == IFACE)
    methods = {m.get("name"): "".join(a.get("type") for a in m.findall("arg") if a.get("direction", "in") == "in")
               for m in iface.findall("method")}
    props = {p.get("name"): (p.get("type"), p.get("access")) for p in iface.findall("property")}
    return methods, props


METHODS, PROPERTIES = load_api()
WRITABLE = sorted(n for n, (_, access) in PROPERTIES.items() if access in ("write", "readwrite"))


# == the oracle: Python's ipaddress, and the product's documented rules ===========

# RFC 5771 §4: the Local Network Control Block, never forwarded (nat64-gatewayd(8)).
IPV4_LOCAL_CONTROL = ipaddress.IPv4Network("224.0.0.0/24")
# RFC 4291 §2.7: IPv6 groups of scope 0, 1 (interface-local) and 2 (link-local) stay on the link;
# scope F is reserved.
IPV6_LINK_SCOPE = 2


def as_ipv6(text):
    """The IPv6 address text is, or None. A zone index ("ff02::1%lan0", RFC 4007
    §11) names an interface too: that is not an address, so not valid here."""
    try:
        a = ipaddress.IPv6Address(text)
    except (ValueError, TypeError):
        return None
    return None if a.scope_id is not None else a


def as_ipv4(text):
    try:
        return ipaddress.IPv4Address(text)
    except (ValueError, TypeError):
        return None


@functools.lru_cache(maxsize=None)
def _pair(a, b):
    return ipaddress.IPv6Address(a), ipaddress.IPv4Address(b)


def parse_maps(maps):
    """StaticMaps (as the daemon spells them) as (IPv6Address, IPv4Address) pairs."""
    return [_pair(a, b) for a, b in maps]


def expect_add(maps, s6, s4):
    a6, a4 = as_ipv6(s6), as_ipv4(s4)
    groups = parse_maps(maps)
    if a6 is None or a4 is None:
        return {INVALID_ARGS}
    refused = (not a6.is_multicast or a6.packed[1] & 0x0f <= IPV6_LINK_SCOPE or a6.packed[1] & 0x0f == 0xf
               or not a4.is_multicast or a4 in IPV4_LOCAL_CONTROL
               or any(a6 == g6 or a4 == g4 for g6, g4 in groups))
    if len(groups) >= MAX_STATIC_MAPS:
        # A full table: LimitsExceeded; for a map refused anyway either error is right.
        return {INVALID_ARGS, LIMITS_EXCEEDED} if refused else {LIMITS_EXCEEDED}
    return {INVALID_ARGS} if refused else {OK}


def expect_remove(maps, s6):
    a6 = as_ipv6(s6)
    if a6 is None:
        return {INVALID_ARGS}
    return {OK} if any(a6 == g6 for g6, _ in parse_maps(maps)) else {NO_SUCH_MAP}


def maps_after(maps, member, args):
    """StaticMaps after a successful call, as (IPv6Address, IPv4Address) pairs."""
    groups = parse_maps(maps)
    if member == "AddStaticMap":
        return groups + [(as_ipv6(args[0]), as_ipv4(args[1]))]
    return [(g6, g4) for g6, g4 in groups if g6 != as_ipv6(args[0])]


def expect_ha_state(maps, instance, state):
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", instance) or not state.isascii() \
            or state.lower() not in ("master", "backup", "fault", "stop"):
        return {INVALID_ARGS}
    return {HA_NOT_CONFIGURED}


# Oracles of the right signature's calls; a method of the XML without one fails
# test_every_member_has_an_oracle, so a new member cannot go unfuzzed.
METHOD_ORACLES = {
    "GetStatistics": lambda maps: {OK},
    "GetRecentDrops": lambda maps: {OK},
    "Describe": lambda maps: {OK},
    "Reload": lambda maps: {OK},         # the files are unchanged: a no-op
    "AddStaticMap": expect_add,
    "RemoveStaticMap": expect_remove,
    "SetHAState": expect_ha_state,
    "GetSyncStatistics": lambda maps: {HA_NOT_CONFIGURED},
}
WRITE_METHODS = {"AddStaticMap", "RemoveStaticMap", "Reload", "SetHAState"}
# Writable properties with an oracle for Set(); the XML has none today.
WRITABLE_ORACLES = {}

# sd-bus answers GetAll() of its own interfaces with an empty dictionary.
SD_BUS_INTERFACES = {PROPS, PEER, "org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.ObjectManager"}


# Unicode noncharacters: U+FDD0..U+FDEF and the last two code points of every plane.
NONCHARACTERS = re.compile("[\ufdd0-\ufdef" + "".join(f"\\U{p:04x}fffe\\U{p:04x}ffff" for p in range(17)) + "]")


def has_noncharacter(v):
    """sd-bus refuses to read strings with noncharacters; the bus lets them
    through (they are valid UTF-8)."""
    return isinstance(v, str) and NONCHARACTERS.search(v) is not None


def expect(maps, iface, member, signature, args):
    """The outcomes a call may have, from the oracle."""
    if iface == IFACE:
        if member not in METHODS:
            return {UNKNOWN_METHOD}
        if signature != METHODS[member]:
            return {INVALID_ARGS}
        return METHOD_ORACLES[member](maps, *args)
    if iface == PROPS:
        # sd-bus' own handler reads the interface and property names it needs
        # and ignores whatever follows (harmless: Get and GetAll only read, and
        # Set of a read-only property never reads the value).
        need = {"Get": "ss", "GetAll": "s", "Set": "ss"}.get(member)
        if need is None:
            return {UNKNOWN_METHOD}
        if not signature.startswith(need):
            return {INVALID_ARGS}
        if any(has_noncharacter(a) for a in args[:2]):
            return {INVALID_ARGS}
        if member == "GetAll":
            if args[0] in (IFACE, ""):
                return {OK}
            return {OK, UNKNOWN_INTERFACE} if args[0] in SD_BUS_INTERFACES else {UNKNOWN_INTERFACE}
        if args[0] != IFACE or args[1] not in PROPERTIES:
            return {UNKNOWN_PROPERTY}
        if member == "Get":
            return {OK}
        if args[1] in WRITABLE:
            # None today. Set() reads the value: its oracle judges signature and value.
            return WRITABLE_ORACLES[args[1]](maps, signature, args)
        return {READ_ONLY}
    if iface is None:
        # Without an interface field (optional for calls in the D-Bus spec) sd-bus
        # does not dispatch by member alone: it answers UnknownObject.
        return {UNKNOWN_OBJECT, UNKNOWN_METHOD} | (expect(maps, IFACE, member, signature, args)
                                                   if member in METHODS else set())
    return {UNKNOWN_METHOD}


# == the arguments ================================================================

EXISTING6, EXISTING4 = T.MCAST_GROUP6, T.MCAST_GROUP4
FRESH6, FRESH4 = "ff3e:40:2001:db8:d0be:f00d:d09e:beef", "234.203.0.200"      # valid, not mapped
FRESH6B, FRESH4B = "ff3e::6464:1", "239.64.0.1"

# Strings that are not addresses of any family, or barely.
NOISE = [
    "", " ", "\t", "\n", "\x01", "\x1b[2J", "\x7f", "\u200b", "%s%s%n%x", "'; flush ruleset; '",
    "} ; flush ruleset ; {", "$(reboot)", "../../etc/passwd", "null", "-1", "0", "0x0",
    "\ufffe", "\uffff", "\ufdd0", "\U0010ffff",            # noncharacters: valid UTF-8, the bus lets them through
    "x" * KiB64, ":" * KiB64, "1" * KiB64, "f" * KiB64, "\x01" * KiB64, "é" * (KiB64 // 2),
]

V6_CASES = NOISE + [
    # almost valid
    "ff3e:1:2:3:4:5:6:7:8", "ff3e:1:2:3:4:5:6", "ff3e:1:2:3:4:5:6:7:", ":ff3e:1:2:3:4:5:6:7",
    "ff3e::1::2", "ff3e:::1", ":::", "ff3e0::1", "fff3e::1", "ff3g::1", "ff3e::00001", "ff3e::-1",
    "ff3e::1/128", "ff3e::/16", "ff3e::1/129", "ff3e::/", "ff3e::1/-1", "ff3e::1/0x10",
    "ff02::1%lan0", "ff02::1%1", "ff02::1%", "[ff3e::1]", "[ff3e::1]:5000", "ff3e::1 ", " ff3e::1",
    "ff3e::1\n", "ff3e::1\x01", "ff3e::1,ff3e::2", "ff3e::1 ff3e::2",
    "ff3e::1.2.3.256", "ff3e::1.2.3", "ff3e::01.2.3.4", "ff3e::1.2.3.4.5", "ff3e:1:2:3:4:5:6:7:1.2.3.4",
    "ｆｆ３ｅ::１", "ff3e::١", "ﬀ3e::1",
    "ff3e:" * (KiB64 // 5), EXISTING6 + " " * (KiB64 - len(EXISTING6)), EXISTING6 + "x" * KiB64,
    # unicast, or IPv4, where a group is expected
    "2001:db8::1", "::1", "::", "fe80::1", "fd00::1", "fec0::1", "feff::1", "::ffff:234.1.2.3",
    "64:ff9b:1:fffe::234.203.0.113", "64:ff9b:1:fffe::", "2001:db8:d0be:f00d::2", "234.1.2.3", "0ff3e::",
    # valid multicast, in several spellings and scopes: these succeed (and are undone)
    "ff3e::1", "FF3E::1", "ff3e:0:0:0:0:0:0:1", "ff3e:0000:0000:0000:0000:0000:0000:0001", "ff3e::0001",
    "ff3e::234.1.2.3", "ff3e:1:2:3:4:5:6:1.2.3.4", "ff02::1", "ff01::1", "ff05::2", "ff0e::1", "ff00::",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ff32:40:2001:db8::1",
]

V4_CASES = NOISE + [
    # almost valid
    "234.1.2.256", "256.1.2.3", "234.1.2", "234.1.2.3.4", "234.1.2.3.", ".234.1.2.3", "234..2.3",
    "234.001.2.3", "0234.1.2.3", "234.1.2.03", "0xea.1.2.3", "234.1.515", "3925934595", "234.1.2.-3",
    "-234.1.2.3", "+234.1.2.3", "234.1.2.3/32", "234.1.2.0/24", "234.1.2.3/33", "234.1.2.3:80",
    "234.1.2.3 ", " 234.1.2.3", "234.1.2.3\n", "２３４.1.2.3", "234.1.2.٣", "234.1.2.3" + "0" * KiB64,
    # unicast, reserved, the link-local block, IPv6
    "192.0.2.1", "10.0.0.1", "0.0.0.0", "127.0.0.1", "169.254.1.1", "223.255.255.255", "240.0.0.1",
    "255.255.255.255", "224.0.0.0", "224.0.0.1", "224.0.0.5", "224.0.0.255", "ff3e::1", "::ffff:234.1.2.3",
    "198.51.100.1",
    # valid groups: succeed (and are undone)
    "224.0.1.0", "224.0.1.1", "225.0.0.0", "232.1.1.1", "239.255.255.255", "234.203.0.114",
]


def respellings6(text):
    """Other spellings of the same IPv6 address (all valid)."""
    a = ipaddress.IPv6Address(text)
    return [text.upper(), a.exploded, a.exploded.upper(), a.compressed]


# Values of wrong types, by signature; strings ('o', 'g') must be valid or the bus drops us.
WRONG_TYPES = {
    "y": 7, "b": True, "n": -1, "q": 65535, "i": -2 ** 31, "u": 2 ** 32 - 1, "x": -1, "t": 2 ** 64 - 1,
    "d": float("nan"), "o": "/org/nat64/Gateway1", "g": "ss", "as": [EXISTING6, EXISTING4],
    "ay": list(b"ff3e::1"), "v": ("s", EXISTING6), "(ss)": (FRESH6, FRESH4), "a(ss)": [(FRESH6, FRESH4)],
    "a{sv}": {"ipv6": ("s", FRESH6)}, "s": "",
}


def random_value(rng, t, depth=0):
    c = t[0]
    if c == "y":
        return rng.randrange(256)
    if c == "b":
        return rng.random() < 0.5
    if c in "nqiuxt":
        bits = {"n": 16, "q": 16, "i": 32, "u": 32, "x": 64, "t": 64}[c]
        v = rng.choice([0, 1, 2 ** bits - 1, rng.getrandbits(bits)])
        return v - 2 ** bits if c in "nix" and v >= 2 ** (bits - 1) else v
    if c == "d":
        return rng.choice([0.0, -1.5, float("inf"), float("nan"), rng.random() * 1e300])
    if c == "s":
        return rng.choice([rng.choice(NOISE), rng.choice(V6_CASES), rng.choice(V4_CASES)])
    if c == "o":
        return rng.choice(["/", PATH, "/org/nat64/Gateway1/x", "/a/b_c/D1"])
    if c == "g":
        return rng.choice(["", "s", "ss", "a{sv}", "(qq)"])
    if c == "v":
        inner = rng.choice(["s", "u", "b", "as", "a(ss)", "(qq)", "v"] if depth < 2 else ["s", "u"])
        return inner, random_value(rng, inner, depth + 1)
    if c == "a":
        n = rng.choice([0, 1, 3])
        if t[1] == "{":
            kt, vt = split_signature(t[2:-1])
            return {random_value(rng, kt, depth + 1): random_value(rng, vt, depth + 1) for _ in range(n)}
        return [random_value(rng, t[1:], depth + 1) for _ in range(n)]
    if c == "(":
        return tuple(random_value(rng, sub, depth + 1) for sub in split_signature(t[1:-1]))
    raise ValueError(t)


SIMPLE_TYPES = ["y", "b", "n", "q", "i", "u", "x", "t", "d", "s", "o", "g", "v", "as", "ay", "a{sv}",
                "(ss)", "a(ss)", "(qq)", "a{st}"]


def random_signature(rng, avoid):
    while True:
        sig = "".join(rng.choice(SIMPLE_TYPES) for _ in range(rng.choice([0, 1, 1, 2, 2, 3])))
        if sig != avoid:
            return sig


def mutate(rng, text):
    """One to three character edits of text: near misses, now and then valid ones."""
    alphabet = "0123456789abcdefABCDEF:::...//% -gx\t"
    s = list(text)
    for _ in range(rng.randint(1, 3)):
        op, i = rng.randrange(3), rng.randrange(len(s) + 1)
        if op == 0:
            s.insert(i, rng.choice(alphabet))
        elif s and op == 1:
            del s[min(i, len(s) - 1)]
        elif s:
            s[min(i, len(s) - 1)] = rng.choice(alphabet)
    return "".join(s)


def random_group6(rng):
    a = ipaddress.IPv6Address((0xFF << 120) | (rng.choice([0, 1, 3, 7]) << 116) | (rng.randrange(16) << 112)
                              | rng.getrandbits(rng.choice([16, 32, 64, 112])))
    return rng.choice([a.compressed, a.exploded, a.compressed.upper()])


def random_group4(rng):
    return str(ipaddress.IPv4Address(rng.randrange(0xE0000000, 0xF0000000)))


def random_address(rng, family, maps):
    """Address-like text of family 6 or 4: valid, almost valid, or a colliding group."""
    k = rng.random()
    if k < 0.25:
        return random_group6(rng) if family == 6 else random_group4(rng)
    if k < 0.40 and maps:
        g6, g4 = rng.choice(maps)
        return rng.choice(respellings6(g6)) if family == 6 else g4
    if k < 0.70:
        return mutate(rng, random_group6(rng) if family == 6 else random_group4(rng))
    if k < 0.90:
        return rng.choice(V6_CASES if family == 6 else V4_CASES)
    junk = "".join(rng.choice("0123456789abcdef:./%") for _ in range(rng.randrange(40)))
    return junk * (rng.choice([1, 1, 1, 1000]))


def random_name(rng, names):
    return rng.choice(names + [n.lower() for n in names] + [n + " " for n in names] + NOISE[:12] + ["x" * KiB64])


# == the fuzzer: calls, the oracle's verdict, undo, and the operator's view =========

def our_routes(topo):
    out = topo.ip("gw", "-6", "route", "show", "table", "all", "proto", "64").stdout
    out += topo.ip("gw", "-4", "route", "show", "table", "all", "proto", "64").stdout
    return sorted(line for line in out.splitlines() if line.strip())


def nft_table(topo):
    # -s (stateless): without counter values, which traffic may move.
    return topo.run("gw", "nft", "-s", "list", "table", "ip6", "nat64_gateway").stdout


# Lists the daemon's table on request, from inside the gw namespace, through
# libnftables: the per-call check costs a millisecond instead of a process.
NFT_LISTER = r"""
import ctypes, sys
lib = ctypes.CDLL("libnftables.so.1")
lib.nft_ctx_new.restype = ctypes.c_void_p
lib.nft_ctx_get_output_buffer.restype = ctypes.c_char_p
lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
for fn in ("nft_ctx_buffer_output", "nft_ctx_buffer_error", "nft_ctx_output_set_flags",
           "nft_run_cmd_from_buffer", "nft_ctx_get_output_buffer", "nft_ctx_get_error_buffer"):
    getattr(lib, fn).argtypes = [ctypes.c_void_p] + ([ctypes.c_char_p] if fn == "nft_run_cmd_from_buffer"
                                                     else [ctypes.c_uint] if fn.endswith("set_flags") else [])
ctx = lib.nft_ctx_new(0)
lib.nft_ctx_output_set_flags(ctx, 1 << 2)       # NFT_CTX_OUTPUT_STATELESS
lib.nft_ctx_buffer_output(ctx)
lib.nft_ctx_buffer_error(ctx)
for _ in sys.stdin:
    rc = lib.nft_run_cmd_from_buffer(ctx, b"list table ip6 nat64_gateway")
    out = lib.nft_ctx_get_output_buffer(ctx) if rc == 0 else b"error: " + lib.nft_ctx_get_error_buffer(ctx)
    sys.stdout.buffer.write(b"%d\n" % len(out) + out)
    sys.stdout.flush()
"""


class NftLister:
    def __init__(self, topo):
        self.proc = topo.popen("gw", T.PYTHON, "-c", NFT_LISTER, stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def table(self):
        self.proc.stdin.write(b"\n")
        self.proc.stdin.flush()
        n = int(self.proc.stdout.readline())
        return self.proc.stdout.read(n).decode()

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass            # the topology kills it by its PID


def short(v, n=120):
    r = repr(v)
    return r if len(r) <= n else f"{r[:n]}...({len(r)} chars)"


class Fuzzer:
    def __init__(self, g, topo, bus, seed=None):
        self.g, self.topo, self.bus, self.seed = g, topo, bus, seed
        self.client = RawBus(str(bus.socket))
        self.nft = NftLister(topo)
        self.calls = 0          # fuzz calls, each checked against the oracle
        self.undo_calls = 0
        self.outcomes = {}
        self.history = []       # the last calls, for failure messages
        self.owner = self.bus_call("GetNameOwner", "s", (NAME,))
        self.pid = self.bus_call("GetConnectionUnixProcessID", "s", (NAME,))
        assert self.pid == g.pid, (self.pid, g.pid)
        self.before = self.operator_view()
        self.nft_before = self.nft.table()
        assert self.nft_before.startswith("table ip6 nat64_gateway {"), self.nft_before[:500]
        self.base_maps = [tuple(m) for m in self.before["properties"]["StaticMaps"]]
        self.maps = list(self.base_maps)

    def close(self):
        self.client.close()
        self.nft.close()

    def where(self):
        seed = f"seed={self.seed} " if self.seed is not None else ""
        return f"[{seed}call #{self.calls}; last calls: {self.history[-5:]}]"

    # -- plain calls --------------------------------------------------------
    def bus_call(self, member, signature="", args=()):
        m = self.client.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", member,
                             signature, args)
        assert m.outcome == OK, m
        return m.body[0]

    def get_all(self):
        m = self.client.call(NAME, PATH, PROPS, "GetAll", "s", (IFACE,))
        assert m.outcome == OK, m
        return m.body[0]

    def static_maps(self):
        m = self.client.call(NAME, PATH, PROPS, "Get", "ss", (IFACE, "StaticMaps"))
        assert m.outcome == OK, m
        return [tuple(x) for x in m.body[0]]

    def operator_view(self):
        return {"properties": self.get_all(), "nft": nft_table(self.topo), "routes": our_routes(self.topo)}

    def undo_call(self, member, *args):
        self.undo_calls += 1
        m = self.client.call(NAME, PATH, IFACE, member, "s" * len(args), args)
        assert m.outcome == OK, f"undo {member}{args}: {m} {self.where()}"

    def restore(self):
        """Back to the baseline's maps, in the baseline's order."""
        cur = self.static_maps()
        i = 0
        while i < min(len(cur), len(self.base_maps)) and cur[i] == self.base_maps[i]:
            i += 1
        for g6, _ in cur[i:]:
            self.undo_call("RemoveStaticMap", g6)
        for g6, g4 in self.base_maps[i:]:
            self.undo_call("AddStaticMap", g6, g4)
        self.maps = self.static_maps()
        assert self.maps == self.base_maps, self.where()

    # -- one checked call ---------------------------------------------------
    def step(self, member, signature="", args=(), iface=IFACE, flags=0, path=PATH, undo=True, full=None,
             expected=None):
        """Calls, checks the outcome and StaticMaps against the oracle, undoes a
        success (unless undo=False) and checks that nothing else changed."""
        self.calls += 1
        expected = expected or expect(self.maps, iface, member, signature, args)
        self.history.append(f"{iface}.{member}({signature}: {', '.join(short(a, 60) for a in args)}) flags={flags}")
        del self.history[:-20]
        if flags & FLAG_NO_REPLY:
            serial = self.client.send(NAME, path, iface, member, signature, args, flags=flags)
            # The daemon handles one connection's messages in order: once Ping is
            # answered, the call was handled, and no reply may have come for it.
            assert self.client.call(NAME, PATH, PEER, "Ping").outcome == OK
            assert serial not in self.client.replies, f"reply despite NO_REPLY_EXPECTED {self.where()}"
            outcome = OK if expected == {OK} else "no reply"
        else:
            m = self.client.call(NAME, path, iface, member, signature, args, flags=flags)
            outcome = m.outcome
            assert outcome in expected, f"expected {sorted(expected)}, got {m} {self.where()}"
            if outcome == OK:
                self.check_result(iface, member, args, m.body)
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

        write = member in WRITE_METHODS or (iface == PROPS and member == "Set")
        if member in ("AddStaticMap", "RemoveStaticMap"):
            now = self.static_maps()
            want = maps_after(self.maps, member, args) if outcome == OK else parse_maps(self.maps)
            assert parse_maps(now) == want, f"StaticMaps {now}, the oracle says {want} {self.where()}"
            self.maps = now
        if undo and self.maps != self.base_maps:
            self.restore()
        if undo:
            props = self.get_all()
            assert props == self.before["properties"], f"properties changed: {props} {self.where()}"
            if (write if full is None else full):
                assert self.nft.table() == self.nft_before, f"nft table changed {self.where()}"
        return outcome

    def check_result(self, iface, member, args, body):
        """What a successful read returned."""
        if iface == PROPS and member == "Get":
            assert body[0] == self.before["properties"][args[1]], (args, body)
        elif iface == PROPS and member == "GetAll" and args[0] in (IFACE, ""):
            assert body[0] == self.before["properties"], body
        elif member == "GetStatistics":
            assert "packets-6to4" in body[0] and all(isinstance(v, int) for v in body[0].values()), body
        elif member == "Describe":
            d = json.loads(body[0])
            assert d["StaticMaps"] == [list(m) for m in self.maps] and d["State"] == "running", d

    # -- the end ------------------------------------------------------------
    def assert_unchanged_and_translating(self):
        self.restore()
        after = self.operator_view()
        for key in self.before:
            assert after[key] == self.before[key], f"{key} changed by the fuzzing {self.where()}"
        assert self.g.running(), f"nat64-gatewayd exited {self.where()}"
        assert self.bus_call("GetNameOwner", "s", (NAME,)) == self.owner, "the daemon left the bus"
        assert self.bus_call("GetConnectionUnixProcessID", "s", (NAME,)) == self.pid == self.g.pid
        assert after["properties"]["State"] == "running"
        assert_translates(self.topo)


def assert_translates(topo):
    r = T.ping(topo, "lan6", T.INET_ADDR6, count=2)
    assert r.returncode == 0, f"ping {T.INET_ADDR6}: {r.stdout}{r.stderr}"
    r = T.ping(topo, "lan4", T.INET_ADDR, count=1)
    assert r.returncode == 0, f"NAT46 ping {T.INET_ADDR}: {r.stdout}{r.stderr}"
    cli, srv = T.udp_exchange(topo, count=3)
    assert cli["echoed"] == 3 and srv and all(p[0] == T.GW_WAN_ADDR for p in srv["peers"]), (cli, srv)
    srv = T.start_server(topo, "inet", "mcast-listen", EXISTING4, "5005", T.INET_WAN_ADDR)
    try:
        T.run_client(topo, "lan6", "mcast-send", EXISTING6, "5005", "8", "fuzz")
        res = T.finish_server(srv, timeout=35)
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()
    assert res["peer"] == T.GW_WAN_ADDR and res["data"] == "fuzz", res


@pytest.fixture
def fuzzer(gatewayd, topo, bus):
    f = Fuzzer(gatewayd, topo, bus)
    try:
        yield f
    finally:
        f.close()


# == the tests ======================================================================

@pytest.mark.no_daemon
def test_every_member_has_an_oracle():
    """Every method of the XML is fuzzed with an oracle; writable properties too (none today)."""
    assert set(METHODS) == set(METHOD_ORACLES), "a D-Bus method without an oracle in this file"
    assert set(WRITABLE) == set(WRITABLE_ORACLES), "a writable property without an oracle in this file"
    assert {"AddStaticMap": "ss", "RemoveStaticMap": "s"}.items() <= METHODS.items()
    assert len(PROPERTIES) >= 15


def catalogue_of_signatures(f):
    """Every method: wrong counts and every wrong type in every position."""
    for member, sig in METHODS.items():
        good = {"AddStaticMap": (FRESH6, FRESH4), "RemoveStaticMap": (EXISTING6,),
                "SetHAState": ("VI_1", "backup")}.get(member, ())
        f.step(member, sig, good)                                   # the right call (undone)
        types = split_signature(sig)
        for extra in ("s", "u", "as", "v"):                         # one too many
            f.step(member, sig + extra, good + (WRONG_TYPES[extra],))
        for n in range(len(types)):                                 # too few
            f.step(member, "".join(types[:n]), good[:n])
        for pos in range(len(types)):                               # a wrong type in each position
            for t, v in WRONG_TYPES.items():
                if t != types[pos]:
                    f.step(member, "".join(types[:pos]) + t + "".join(types[pos + 1:]),
                           good[:pos] + (v,) + good[pos + 1:])
        for t in ("s", "ss", "sss", "a{sv}", "(ss)", "a(ss)"):           # whole other signatures
            if t != sig:
                f.step(member, t, tuple(WRONG_TYPES[x] for x in split_signature(t)))
        f.step(member, sig, good, iface="org.nat64.Gateway2")       # wrong interface
        f.step(member, sig, good, iface=None)                       # no interface
        f.step(member, sig, good, path="/org/nat64/Gateway1/x", expected={UNKNOWN_OBJECT})
        f.step(member, sig, good, path="/", expected={UNKNOWN_OBJECT, UNKNOWN_METHOD})
    for member in ("addStaticMap", "AddStaticMaps", "Stop", "SetProperty", "X" * 255):
        f.step(member, "ss", (FRESH6, FRESH4))


def catalogue_of_properties(f):
    """Every property: Get, Set with its own type, a wrong one, empty and long values; bad names."""
    for name, (ptype, _) in PROPERTIES.items():
        value = f.before["properties"][name]
        f.step("Get", "ss", (IFACE, name), iface=PROPS)
        f.step("Get", "s", (IFACE,), iface=PROPS)
        f.step("Get", "ssv", (IFACE, name, ("s", "")), iface=PROPS)
        for v in ((ptype, value), ("s", ""), ("s", "x" * KiB64), ("s", "\x01\ufffe"), ("u", 0),
                  ("a(ss)", [(FRESH6, FRESH4)]), ("as", []), ("v", ("s", "running"))):
            f.step("Set", "ssv", (IFACE, name, v), iface=PROPS)
        f.step("Set", "ss", (IFACE, name), iface=PROPS)
        f.step("Set", "sss", (IFACE, name, "stopping"), iface=PROPS)
        for bad in (name.lower(), name.upper(), name + " ", " " + name, name + "\n",
                    name + "\ufffe", name * 3000):
            f.step("Get", "ss", (IFACE, bad), iface=PROPS)
            f.step("Set", "ssv", (IFACE, bad, (ptype, value)), iface=PROPS)
        for bad_iface in ("", "org.nat64.gateway1", "org.nat64.Gateway2", PROPS, "x" * KiB64):
            f.step("Get", "ss", (bad_iface, name), iface=PROPS)
            f.step("Set", "ssv", (bad_iface, name, (ptype, value)), iface=PROPS)
    for i in (IFACE, "", PROPS, PEER, "org.freedesktop.DBus.Introspectable", "org.nat64", "x", "x" * KiB64,
              "\x01", "\ufffe"):
        f.step("GetAll", "s", (i,), iface=PROPS)
    for sig, args in (("", ()), ("u", (1,)), ("ss", (IFACE, IFACE)), ("as", ([IFACE],))):
        f.step("GetAll", sig, args, iface=PROPS)
    f.step("Reset", "s", (IFACE,), iface=PROPS)


def catalogue_of_addresses(f):
    """Almost valid addresses in every address argument, collisions, duplicates."""
    for s6 in V6_CASES:
        f.step("AddStaticMap", "ss", (s6, FRESH4))
        f.step("RemoveStaticMap", "s", (s6,))
    for s4 in V4_CASES:
        f.step("AddStaticMap", "ss", (FRESH6, s4))
    for s in NOISE[:8]:
        f.step("AddStaticMap", "ss", (s, s))
    # Collisions with the configured map, in every spelling; removing it the same way.
    for g6, g4 in f.base_maps:
        for s6 in respellings6(g6):
            f.step("AddStaticMap", "ss", (s6, FRESH4))
            f.step("RemoveStaticMap", "s", (s6,))
        f.step("AddStaticMap", "ss", (g6, g4))
        f.step("AddStaticMap", "ss", (FRESH6, g4))
    # Maps that do not exist.
    for s6 in ("ff3e::dead", FRESH6, "ff02::1", "2001:db8::1", "::"):
        f.step("RemoveStaticMap", "s", (s6,))
    # Duplicates: the same map twice, each half again, removed twice (undone at the end).
    f.step("AddStaticMap", "ss", (FRESH6, FRESH4), undo=False)
    for s6, s4 in ((FRESH6, FRESH4), (FRESH6.upper(), FRESH4B), (FRESH6B, FRESH4),
                   (ipaddress.IPv6Address(FRESH6).exploded, FRESH4)):
        f.step("AddStaticMap", "ss", (s6, s4), undo=False)
    f.step("AddStaticMap", "ss", (FRESH6B, FRESH4B), undo=False)
    f.step("RemoveStaticMap", "s", (FRESH6.upper(),), undo=False)
    f.step("RemoveStaticMap", "s", (FRESH6,), undo=False)
    f.step("RemoveStaticMap", "s", (ipaddress.IPv6Address(FRESH6).exploded,), undo=False)
    f.step("AddStaticMap", "ss", (FRESH6, FRESH4B), undo=False)      # FRESH4B is FRESH6B's
    f.restore()
    # The configured map removed (its only home is the file) and added back.
    f.step("RemoveStaticMap", "s", (EXISTING6,), undo=False)
    f.step("RemoveStaticMap", "s", (EXISTING6,), undo=False)
    f.step("AddStaticMap", "ss", (EXISTING6, EXISTING4), undo=False)
    f.step("Reload", full=True)


def random_call(rng, f):
    """One call mixing everything above."""
    k = rng.random()
    flags = rng.choice([0] * 12 + [FLAG_NO_REPLY, FLAG_NO_AUTO_START, FLAG_INTERACTIVE])
    if k < 0.62:
        member = rng.choice(["AddStaticMap"] * 5 + ["RemoveStaticMap"] * 3 + sorted(METHODS))
        sig = METHODS[member]
        mode = rng.random()
        if mode < 0.7:
            args = tuple(random_address(rng, 6 if i == 0 else 4, f.maps) for i in range(len(sig)))
        elif mode < 0.85:
            sig = random_signature(rng, sig)
            args = tuple(random_value(rng, t) for t in split_signature(sig))
        else:
            types = split_signature(sig)
            sig = "".join(types[:-1]) if types and rng.random() < 0.5 else sig + rng.choice("su")
            args = tuple(random_address(rng, 6, f.maps) if t == "s" else random_value(rng, t)
                         for t in split_signature(sig))
        iface = rng.choice([IFACE] * 30 + [None, "org.nat64.Gateway2"])
        if iface is None:
            flags &= ~FLAG_NO_REPLY     # the outcome is not a single one: it must be seen
        return f.step(member, sig, args, iface=iface, flags=flags)
    member = rng.choice(["Get", "Get", "Set", "Set", "GetAll"])
    want = {"Get": "ss", "GetAll": "s", "Set": "ssv"}[member]
    sig = want if rng.random() < 0.8 else random_signature(rng, want)
    names = sorted(PROPERTIES)
    args = []
    for i, t in enumerate(split_signature(sig)):
        if t == "s" and i == 0:
            args.append(rng.choice([IFACE] * 6 + [random_name(rng, [IFACE, PROPS, ""])]))
        elif t == "s" and i == 1:
            args.append(random_name(rng, names))
        elif t == "v":
            named = len(args) > 1 and isinstance(args[1], str) and args[1] in PROPERTIES
            name = args[1] if named else rng.choice(names)
            args.append(rng.choice([(PROPERTIES[name][0], f.before["properties"][name]),
                                    random_value(rng, "v")]))
        else:
            args.append(random_value(rng, t))
    return f.step(member, sig, tuple(args), iface=PROPS, flags=flags & ~FLAG_NO_REPLY)


@pytest.mark.parametrize("seed", [SEED], ids=[f"seed={SEED}"])
def test_fuzz_arguments(gatewayd, topo, bus, seed):
    t0 = time.monotonic()
    f = Fuzzer(gatewayd, topo, bus, seed=seed)
    try:
        catalogue_of_signatures(f)
        catalogue_of_properties(f)
        catalogue_of_addresses(f)
        fixed = f.calls
        rng = random.Random(seed)
        for _ in range(RANDOM_CALLS):
            random_call(rng, f)
        f.assert_unchanged_and_translating()
        print(f"\nD-Bus fuzz: seed {seed}; {fixed} catalogue + {RANDOM_CALLS} random calls "
              f"(+{f.undo_calls} undo) in {time.monotonic() - t0:.1f}s; outcomes {f.outcomes}")
    finally:
        f.close()


# Messages the bus itself must refuse: the dbus-daemon validates every message and
# drops a connection that sends a malformed one, so nat64-gatewayd never sees it.
def _utf8(s6):
    return lambda c: c.encode(NAME, PATH, IFACE, "AddStaticMap", "ss", (s6, FRESH4))


def _raw_body(body, signature="ss"):
    return lambda c: c.encode(NAME, PATH, IFACE, "AddStaticMap", signature, body=body)


def _packed(*fields):
    w = Writer()
    for t, v in fields:
        w.write(t, v)
    return bytes(w.buf)


BUS_REFUSED = {
    "invalid UTF-8 byte": _utf8(b"ff3e::\xff"),
    "overlong encoding": _utf8(b"ff3e:\xc0\xba:1"),
    "UTF-16 surrogate": _utf8(b"ff3e::\xed\xa0\x80"),
    "truncated sequence": _utf8(b"ff3e::1\xe2\x82"),
    "code point above U+10FFFF": _utf8(b"ff3e::\xf4\x90\x80\x80"),
    "latin-1 text": _utf8("ff3e::é".encode("latin-1")),
    "NUL inside a string": _utf8(b"ff3e::1\x00" + FRESH6.encode()),
    "NUL inside a property name": lambda c: c.encode(NAME, PATH, PROPS, "Get", "ss", (IFACE, b"State\x00x")),
    "invalid UTF-8 in a property name": lambda c: c.encode(NAME, PATH, PROPS, "Get", "ss", (IFACE, b"St\xffate")),
    "string without its NUL": _raw_body(struct.pack("<I", 7) + b"ff3e::1" + b"x" + _packed(("s", FRESH4))),
    "string longer than the body": _raw_body(struct.pack("<I", 1000) + b"ff3e::1\0"),
    "body shorter than the signature": _raw_body(_packed(("s", FRESH6))),
    "invalid object path argument": lambda c: c.encode(NAME, PATH, IFACE, "AddStaticMap", "o", ("not/a/path",)),
    "invalid signature argument": lambda c: c.encode(NAME, PATH, IFACE, "AddStaticMap", "g", ("a{",)),
    "invalid variant signature": lambda c: c.encode(NAME, PATH, PROPS, "Set", "ssv",
                                                    body=_packed(("s", IFACE), ("s", "State")) + b"\x01(\x00"),
}


def test_bus_refuses_malformed_messages(fuzzer, bus):
    for what, build in BUS_REFUSED.items():
        c = RawBus(str(bus.socket))
        try:
            serial, data = build(c)
            c.sock.sendall(data)
            with pytest.raises(BusClosed):
                c.wait_reply(serial, timeout=5)
                pytest.fail(f"{what}: the bus delivered it and a reply came")
        finally:
            c.close()
        # The daemon is untouched, and the next well-formed call is handled.
        fuzzer.step("AddStaticMap", "ss", (FRESH6, "not-an-address"))
        fuzzer.step("Get", "ss", (IFACE, "State"), iface=PROPS)
    fuzzer.assert_unchanged_and_translating()


MAPS_AT_LIMIT = [(f"ff3e::64:{i:x}", str(ipaddress.IPv4Address(0xE8400000 + i))) for i in range(MAX_STATIC_MAPS)]


def test_static_map_limit(make_gatewayd, topo, bus):
    """4096 maps from the file: one more is LimitsExceeded, nothing changes; one out, one in."""
    conf = T.GATEWAY_CONF.replace(f"Map={EXISTING6} {EXISTING4}\n",
                                  "".join(f"Map={a} {b}\n" for a, b in MAPS_AT_LIMIT))
    g = make_gatewayd(config_text=conf)
    f = Fuzzer(g, topo, bus)
    try:
        assert len(f.base_maps) == MAX_STATIC_MAPS
        for s6, s4 in ((FRESH6, FRESH4), (FRESH6, MAPS_AT_LIMIT[0][1]), (MAPS_AT_LIMIT[5][0], FRESH4),
                       ("ff3e:1:2:3:4:5:6:7:8", FRESH4), (FRESH6, "234.1.2.256"), ("2001:db8::1", FRESH4),
                       (FRESH6, "224.0.0.5"), ("", "")):
            f.step("AddStaticMap", "ss", (s6, s4), full=True)
        last6, last4 = MAPS_AT_LIMIT[-1]
        f.step("RemoveStaticMap", "s", (last6,), undo=False)
        f.step("AddStaticMap", "ss", (FRESH6, FRESH4), undo=False)
        f.step("AddStaticMap", "ss", (FRESH6B, FRESH4B), undo=False)
        f.step("RemoveStaticMap", "s", (FRESH6,), undo=False)
        f.step("AddStaticMap", "ss", (last6, last4), undo=False)
        f.step("AddStaticMap", "ss", (FRESH6, FRESH4), full=True)
        f.restore()
        after = f.operator_view()
        assert after == f.before
        assert g.running() and f.bus_call("GetConnectionUnixProcessID", "s", (NAME,)) == g.pid
        r = T.ping(topo, "lan6", T.INET_ADDR6, count=2)
        assert r.returncode == 0, r.stdout
    finally:
        f.close()
