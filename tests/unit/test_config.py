# SPDX-License-Identifier: LGPL-2.1-or-later
"""gateway.conf parser tests, through the config-dump driver.

Run:  /usr/bin/python3 -m pytest tests/unit/test_config.py
(NAT64_BUILD_DIR names the meson build directory, default /work/main/build;
`meson test -C build config` runs this too.)

The expected dumps below are written by hand from gateway.conf(5), not
copied from the program's output.
"""
import os
import re
import shutil
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

SOURCE_DIR = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("NAT64_BUILD_DIR", "/work/main/build"))
CONFIG_DUMP = BUILD_DIR / "tests" / "unit" / "config-dump"

# The smallest valid file: the three required keys.
MINIMAL = """\
[Translator]
WANInterface=wan0
IPv4Address=198.51.100.1
[NAT66]
ClientPrefix=2001:db8:d0be:f00d::/64
"""

MINIMAL_DUMP = """\
[Translator]
Prefix=64:ff9b:1:fffe::/96
WANInterface=wan0
IPv4Address=198.51.100.1
LowestIPv6MTU=1280
UDPZeroChecksum=compute

[NAT66]
ClientPrefix=2001:db8:d0be:f00d::/64
"""


@pytest.fixture(scope="session", autouse=True)
def driver_built():
    if not os.access(CONFIG_DUMP, os.X_OK):
        pytest.fail(f"{CONFIG_DUMP} is missing: build first (ninja -C {BUILD_DIR}) "
                    "or set NAT64_BUILD_DIR")


def run_dump(path):
    return subprocess.run([str(CONFIG_DUMP), str(path)], capture_output=True,
                          text=True, errors="replace", timeout=60)


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def dump_ok(path):
    result = run_dump(path)
    assert result.returncode == 0, result.stderr
    assert "<3>" not in result.stderr
    return result.stdout


def errors_of(path):
    """The parser's error lines (without the driver's own summary line)."""
    result = run_dump(path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == ""
    return [line for line in result.stderr.splitlines()
            if line.startswith("<3>") and not line.startswith("<3>Failed to load")]


def location(path, line, section, key):
    where = f"{path}:{line}:" if line else f"{path}:"
    if section and key:
        return f"<3>{where} [{section}] {key}=: "
    if section:
        return f"<3>{where} [{section}]: "
    if key:
        return f"<3>{where} {key}=: "
    return f"<3>{where} "


# ---- Malformed files: (id, text, line, section, key, part of the reason) ----
# Each file has exactly one mistake; line None means "not tied to a line".

def minimal_plus(section, *lines):
    """MINIMAL (5 lines) followed by [section] on line 6 and lines from 7 on."""
    return MINIMAL + f"[{section}]\n" + "".join(line + "\n" for line in lines)


MALFORMED = [
    ("prefix-length-80", minimal_plus("Translator", "Prefix=2001:db8::/80"),
     7, "Translator", "Prefix", "32, 40, 48, 56, 64, 96"),
    ("prefix-length-128", minimal_plus("Translator", "Prefix=2001:db8::1/128"),
     7, "Translator", "Prefix", "RFC 6052"),
    ("prefix-u-octet", minimal_plus("Translator", "Prefix=64:ff9b:0:0:100::/96"),
     7, "Translator", "Prefix", "u octet"),
    ("prefix-host-bits", minimal_plus("Translator", "Prefix=64:ff9b::1/96"),
     7, "Translator", "Prefix", "did you mean 64:ff9b::/96"),
    ("prefix-not-ipv6", minimal_plus("Translator", "Prefix=192.0.2.0/24"),
     7, "Translator", "Prefix", "not an IPv6 prefix"),
    ("prefix-bad-length-text", minimal_plus("Translator", "Prefix=64:ff9b::/+96"),
     7, "Translator", "Prefix", "not an IPv6 prefix"),
    ("prefix-overlap", minimal_plus("Translator", "Prefix=64:ff9b::/96", "Prefix=64:ff9b::/64"),
     8, "Translator", "Prefix", "overlaps"),
    ("prefix-too-many", minimal_plus("Translator", *[f"Prefix=2001:db8:{i}::/48" for i in range(1, 10)]),
     15, "Translator", "Prefix", "at most 8"),
    ("ipv4-address-syntax", minimal_plus("Translator", "IPv4Address=198.51.100.300"),
     7, "Translator", "IPv4Address", "not an IPv4 address"),
    ("ipv4-address-multicast", minimal_plus("Translator", "IPv4Address=224.1.1.1"),
     7, "Translator", "IPv4Address", "not a unicast"),
    ("ipv4-address-twice", minimal_plus("Translator", "IPv4Address=198.51.100.1"),
     7, "Translator", "IPv4Address", "listed twice"),
    ("ipv4-address-too-many", minimal_plus("Translator", *[f"IPv4Address=192.0.2.{i}" for i in range(1, 17)]),
     22, "Translator", "IPv4Address", "at most 16"),
    ("port-range-reversed", minimal_plus("Translator", "PortRange=2000-1000"),
     7, "Translator", "PortRange", "FIRST <= LAST"),
    ("port-range-zero", minimal_plus("Translator", "PortRange=0-1000"),
     7, "Translator", "PortRange", "port range"),
    ("port-range-too-big", minimal_plus("Translator", "PortRange=1-65536"),
     7, "Translator", "PortRange", "port range"),
    ("port-range-one-number", minimal_plus("Translator", "PortRange=1024"),
     7, "Translator", "PortRange", "port range"),
    ("eam-size-mismatch", minimal_plus("Translator", "EAM=2001:db8:3::/121 192.0.2.0/24"),
     7, "Translator", "EAM", "RFC 7757"),
    ("eam-one-word", minimal_plus("Translator", "EAM=2001:db8:3::/120"),
     7, "Translator", "EAM", "IPV6-PREFIX IPV4-PREFIX"),
    ("eam-ipv4-host-bits", minimal_plus("Translator", "EAM=2001:db8:3::/120 192.0.2.1/24"),
     7, "Translator", "EAM", "did you mean 192.0.2.0/24"),
    ("eam-overlap-ipv6", minimal_plus("Translator", "EAM=2001:db8:3::/120 192.0.2.0/24",
                                      "EAM=2001:db8:3::80/121 198.51.100.0/25"),
     8, "Translator", "EAM", "IPv6 side overlaps EAM= at {path}:7"),
    ("eam-overlap-ipv4", minimal_plus("Translator", "EAM=2001:db8:3::/120 192.0.2.0/24",
                                      "EAM=2001:db8:4::/124 192.0.2.16/28"),
     8, "Translator", "EAM", "IPv4 side overlaps EAM= at {path}:7"),
    ("rfc6791-syntax", minimal_plus("Translator", "RFC6791Address=192.0.2"),
     7, "Translator", "RFC6791Address", "not an IPv4 address"),
    ("mtu-too-small", minimal_plus("Translator", "LowestIPv6MTU=1279"),
     7, "Translator", "LowestIPv6MTU", "between 1280 and 65535"),
    ("mtu-too-big", minimal_plus("Translator", "LowestIPv6MTU=65536"),
     7, "Translator", "LowestIPv6MTU", "between 1280 and 65535"),
    ("mtu-hex", minimal_plus("Translator", "LowestIPv6MTU=0x500"),
     7, "Translator", "LowestIPv6MTU", "not an MTU"),
    ("comment-needs-space", minimal_plus("Translator", "LowestIPv6MTU=1500#jumbo"),
     7, "Translator", "LowestIPv6MTU", "1500#jumbo"),
    ("udp-zero-checksum", minimal_plus("Translator", "UDPZeroChecksum=maybe"),
     7, "Translator", "UDPZeroChecksum", "neither"),
    ("unknown-key", minimal_plus("Translator", "Prefixes=64:ff9b::/96"),
     7, "Translator", "Prefixes", "unknown key"),
    ("key-in-wrong-section", minimal_plus("NAT66", "WANInterface=wan0"),
     7, "NAT66", "WANInterface", "unknown key"),
    ("key-case", minimal_plus("Translator", "waninterface=wan0"),
     7, "Translator", "waninterface", "unknown key"),
    ("unknown-section", minimal_plus("Nat66", "ClientPrefix=2001:db8::/64"),
     6, "Nat66", None, "unknown section"),
    ("section-header-broken", MINIMAL + "[Translator\nWANInterface=wan0\n",
     6, None, None, "not a section header"),
    ("key-outside-section", "WANInterface=wan0\n" + MINIMAL,
     1, None, "WANInterface", "outside of any section"),
    ("no-equals", minimal_plus("Translator", "WANInterface wan0"),
     7, "Translator", None, "not \"Key=Value\""),
    ("colon-separator", minimal_plus("Translator", "WANInterface: wan0"),
     7, "Translator", None, "not \"Key=Value\""),
    ("ifname-too-long", minimal_plus("Translator", "WANInterface=sixteen-chars-xx"),
     7, "Translator", "WANInterface", "not a valid interface name"),
    ("ifname-slash", minimal_plus("NAT46", "Interface=lan/0", "IPv4Prefix=192.168.1.0/24"),
     7, "NAT46", "Interface", "not a valid interface name"),
    ("ifname-quote", minimal_plus("Translator", 'WANInterface=wan"0'),
     7, "Translator", "WANInterface", "not a valid interface name"),
    ("ifname-all", minimal_plus("Translator", "WANInterface=all"),
     7, "Translator", "WANInterface", "not a valid interface name"),
    ("line-too-long", minimal_plus("Translator", "WANInterface=" + "x" * 5000),
     7, "Translator", "WANInterface", "line too long"),
    ("nul-byte", minimal_plus("Translator", "WANInterface=wan\0"),
     7, "Translator", None, "NUL"),
    ("client-prefix-host-bits", minimal_plus("NAT66", "ClientPrefix=2001:db8:1::1/64"),
     7, "NAT66", "ClientPrefix", "did you mean 2001:db8:1::/64"),
    ("client-prefix-twice", minimal_plus("NAT66", "ClientPrefix=2001:db8:d0be:f00d::/64"),
     7, "NAT66", "ClientPrefix", "listed twice"),
    ("nat46-prefix-host-bits", minimal_plus("NAT46", "Interface=lan0", "IPv4Prefix=192.168.1.1/24"),
     8, "NAT46", "IPv4Prefix", "did you mean 192.168.1.0/24"),
    ("multicast-ipv6-unicast", minimal_plus("Multicast", "Map=2001:db8::1 234.203.0.113"),
     7, "Multicast", "Map", "IPv6 group is not a multicast address"),
    ("multicast-ipv4-unicast", minimal_plus("Multicast", "Map=ff3e::1 203.0.113.1"),
     7, "Multicast", "Map", "IPv4 group is not a multicast address"),
    ("multicast-ipv4-link-local", minimal_plus("Multicast", "Map=ff3e::1 224.0.0.251"),
     7, "Multicast", "Map", "224.0.0.0/24"),
    ("multicast-ipv6-link-local", minimal_plus("Multicast", "Map=ff02::fb 234.0.0.1"),
     7, "Multicast", "Map", "link-local"),
    ("multicast-ipv6-interface-local", minimal_plus("Multicast", "Map=ff31::1 234.0.0.1"),
     7, "Multicast", "Map", "interface-local"),
    ("multicast-ipv6-scope-f", minimal_plus("Multicast", "Map=ff1f::1 234.0.0.1"),
     7, "Multicast", "Map", "reserved"),
    ("multicast-duplicate-ipv6", minimal_plus("Multicast", "Map=ff3e::1 234.0.0.1", "Map=ff3e::1 234.0.0.2"),
     8, "Multicast", "Map", "IPv6 group is already mapped"),
    ("multicast-duplicate-ipv4", minimal_plus("Multicast", "Map=ff3e::1 234.0.0.1", "Map=ff3e::2 234.0.0.1"),
     8, "Multicast", "Map", "IPv4 group is already mapped"),
    ("multicast-bad-address", minimal_plus("Multicast", "Map=ff3e::g 234.0.0.1"),
     7, "Multicast", "Map", "\"ff3e::g\" is not an IPv6 address"),
    ("multicast-three-words", minimal_plus("Multicast", "Map=ff3e::1 234.0.0.1 234.0.0.2"),
     7, "Multicast", "Map", "IPV6-GROUP IPV4-GROUP"),
    ("missing-wan-interface", "[Translator]\nIPv4Address=198.51.100.1\n[NAT66]\nClientPrefix=2001:db8::/64\n",
     None, "Translator", "WANInterface", "missing"),
    ("missing-ipv4-address", "[Translator]\nWANInterface=wan0\n[NAT66]\nClientPrefix=2001:db8::/64\n",
     None, "Translator", "IPv4Address", "missing"),
    ("missing-client-prefix", "[Translator]\nWANInterface=wan0\nIPv4Address=198.51.100.1\n",
     None, "NAT66", "ClientPrefix", "missing"),
    ("wan-interface-reset", MINIMAL + "[Translator]\nWANInterface=\n",
     None, "Translator", "WANInterface", "missing"),
    ("nat46-interface-only", minimal_plus("NAT46", "Interface=lan0"),
     None, "NAT46", "IPv4Prefix", "together with Interface="),
    ("nat46-prefix-only", minimal_plus("NAT46", "IPv4Prefix=192.168.1.0/24"),
     None, "NAT46", "Interface", "together with IPv4Prefix="),
]


@pytest.mark.parametrize("text,line,section,key,reason",
                         [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED])
def test_malformed_file_is_rejected_with_location(tmp_path, text, line, section, key, reason):
    path = write(tmp_path / "gateway.conf", text)
    errors = errors_of(path)
    assert len(errors) == 1, errors
    expected = location(path, line, section, key)
    assert errors[0].startswith(expected), (errors[0], expected)
    assert reason.format(path=path) in errors[0][len(expected):]


def test_malformed_table_is_big_enough():
    assert len(MALFORMED) >= 25


def test_every_error_is_reported_in_one_run(tmp_path):
    path = write(tmp_path / "gateway.conf", textwrap.dedent("""\
        [Translator]
        WANInterface=wan0
        IPv4Address=198.51.100.1
        Prefix=2001:db8::/80
        LowestIPv6MTU=9
        [Bogus]
        Key=ignored
        [NAT66]
        ClientPrefix=2001:db8::/64
        Colour=blue
        """))
    expected = [
        location(path, 4, "Translator", "Prefix"),
        location(path, 5, "Translator", "LowestIPv6MTU"),
        location(path, 6, "Bogus", None),
        location(path, 10, "NAT66", "Colour"),
    ]
    errors = errors_of(path)
    assert len(errors) == len(expected), errors
    for error, prefix in zip(errors, expected):
        assert error.startswith(prefix)


def test_missing_file(tmp_path):
    result = run_dump(tmp_path / "nonexistent.conf")
    assert result.returncode == 1
    assert f"<3>{tmp_path}/nonexistent.conf: Failed to open: No such file or directory" in result.stderr


def test_missing_main_file_with_dropins(tmp_path):
    write(tmp_path / "gateway.conf.d" / "10-all.conf", MINIMAL)
    result = run_dump(tmp_path / "gateway.conf")
    assert result.returncode == 1
    assert "No such file or directory" in result.stderr


# ---- Good files ----

def test_minimal_file_gets_defaults(tmp_path):
    assert dump_ok(write(tmp_path / "gateway.conf", MINIMAL)) == MINIMAL_DUMP


PRODUCT_EXAMPLE = """\
    [Translator]
    Prefix=64:ff9b:1:fffe::/96     # RFC 6052 prefix, lengths 32/40/48/56/64/96; may repeat
    WANInterface=wan0              # IPv4-facing interface
    IPv4Address=198.51.100.1       # address(es) NAT66 maps clients onto; may repeat
    PortRange=32768-65535          # optional: only these ports/ICMP ids are translated
                                   # back, so IPv4Address may also be the host's own
                                   # address (ports outside stay with the host)
    EAM=2001:db8:3::/120 1.0.0.0/24   # RFC 7757 explicit address mapping; may repeat
    RFC6791Address=203.0.113.8     # IPv4 source for ICMP errors whose IPv6 source
                                   # cannot be translated (RFC 6791)
    LowestIPv6MTU=1280             # as Jool's lowest-ipv6-mtu
    UDPZeroChecksum=compute        # compute (default) | drop: IPv4 UDP with checksum 0

    [NAT66]
    ClientPrefix=2001:db8:d0be:f00d::/64   # who may use the gateway; may repeat

    [NAT46]
    Interface=lan0                 # where legacy IPv4 clients are
    IPv4Prefix=192.168.1.0/24

    [Multicast]
    Map=ff3e:40:2001:db8:d0be:f00d:d09e:f00d 234.203.0.113   # may repeat
"""

PRODUCT_EXAMPLE_DUMP = """\
[Translator]
Prefix=64:ff9b:1:fffe::/96
WANInterface=wan0
IPv4Address=198.51.100.1
PortRange=32768-65535
EAM=2001:db8:3::/120 1.0.0.0/24
RFC6791Address=203.0.113.8
LowestIPv6MTU=1280
UDPZeroChecksum=compute

[NAT66]
ClientPrefix=2001:db8:d0be:f00d::/64

[NAT46]
Interface=lan0
IPv4Prefix=192.168.1.0/24

[Multicast]
Map=ff3e:40:2001:db8:d0be:f00d:d09e:f00d 234.203.0.113
"""


def test_product_example_verbatim(tmp_path):
    """PRODUCT.md's example, indented and with comments after the values."""
    assert dump_ok(write(tmp_path / "gateway.conf", PRODUCT_EXAMPLE)) == PRODUCT_EXAMPLE_DUMP


def test_values_are_canonicalised(tmp_path):
    text = (
        "\ufeff; a semicolon comment, and a BOM before it\r\n"
        "[Translator]\r\n"
        "Prefix = 2001:0DB8:0000:0000:0000:0000:0000:0000/32\r\n"
        "Prefix=64:FF9B:0001:FFFE:0:0:0:0/96 ; second\r\n"
        "WANInterface=eth0\r\n"
        "WANInterface =  wan0\r\n"
        "IPv4Address=192.0.2.1\r\n"
        "IPv4Address=192.0.2.2\r\n"
        "EAM=2001:db8:3::1\t \t192.0.2.99\r\n"
        "LowestIPv6MTU=1400\r\n"
        "LowestIPv6MTU=0001500\r\n"
        "UDPZeroChecksum=drop\r\n"
        "[NAT66]\r\n"
        "ClientPrefix=2001:db8:d0be:f00d::2\r\n"
        "ClientPrefix=::/0\r\n"
        "[NAT46]\r\n"
        "Interface=lan0\r\n"
        "IPv4Prefix=10.0.0.0/8\r\n"
        "[Multicast]\r\n"
        "Map=FF0E::1:2 239.255.0.1\r\n"
        "Map=ff3e:40:2001:db8:d0be:f00d:d09e:f00d   234.203.0.113\r\n"
    )
    assert dump_ok(write(tmp_path / "gateway.conf", text)) == """\
[Translator]
Prefix=2001:db8::/32
Prefix=64:ff9b:1:fffe::/96
WANInterface=wan0
IPv4Address=192.0.2.1
IPv4Address=192.0.2.2
EAM=2001:db8:3::1/128 192.0.2.99/32
LowestIPv6MTU=1500
UDPZeroChecksum=drop

[NAT66]
ClientPrefix=2001:db8:d0be:f00d::2/128
ClientPrefix=::/0

[NAT46]
Interface=lan0
IPv4Prefix=10.0.0.0/8

[Multicast]
Map=ff0e::1:2 239.255.0.1
Map=ff3e:40:2001:db8:d0be:f00d:d09e:f00d 234.203.0.113
"""


@pytest.mark.parametrize("prefix,canonical", [
    ("2001:db8::/32", "2001:db8::/32"),
    ("2001:db8:100::/40", "2001:db8:100::/40"),
    ("2001:db8:122::/48", "2001:db8:122::/48"),
    ("2001:db8:122:300::/56", "2001:db8:122:300::/56"),
    ("2001:db8:122:344::/64", "2001:db8:122:344::/64"),
    ("2001:db8:122:344::/96", "2001:db8:122:344::/96"),
])
def test_every_rfc6052_length_is_accepted(tmp_path, prefix, canonical):
    dump = dump_ok(write(tmp_path / "gateway.conf", MINIMAL + f"[Translator]\nPrefix={prefix}\n"))
    assert f"\nPrefix={canonical}\n" in dump
    assert "64:ff9b:1:fffe::/96" not in dump     # the default is only for no Prefix= at all


def test_list_reset_and_single_value_reset(tmp_path):
    text = MINIMAL + textwrap.dedent("""\
        [Translator]
        IPv4Address=
        IPv4Address=192.0.2.7
        Prefix=2001:db8::/32
        Prefix=
        PortRange=1000-2000
        PortRange=
        LowestIPv6MTU=1500
        LowestIPv6MTU=
        UDPZeroChecksum=drop
        UDPZeroChecksum=
        RFC6791Address=192.0.2.8
        RFC6791Address=
        EAM=2001:db8:3::/120 192.0.2.0/24
        EAM=
        EAM=2001:db8:3::/120 192.0.2.0/24
        [Multicast]
        Map=ff3e::1 234.0.0.1
        Map=
        Map=ff3e::1 234.0.0.2
        """)
    assert dump_ok(write(tmp_path / "gateway.conf", text)) == """\
[Translator]
Prefix=64:ff9b:1:fffe::/96
WANInterface=wan0
IPv4Address=192.0.2.7
EAM=2001:db8:3::/120 192.0.2.0/24
LowestIPv6MTU=1280
UDPZeroChecksum=compute

[NAT66]
ClientPrefix=2001:db8:d0be:f00d::/64

[Multicast]
Map=ff3e::1 234.0.0.2
"""


def test_caps_are_reachable(tmp_path):
    """Exactly CONFIG_MAX_* entries are fine (one more is in MALFORMED)."""
    text = MINIMAL + "[Translator]\n"
    text += "".join(f"IPv4Address=192.0.2.{i}\n" for i in range(1, 16))
    text += "".join(f"Prefix=2001:db8:{i}::/48\n" for i in range(1, 9))
    dump = dump_ok(write(tmp_path / "gateway.conf", text))
    assert dump.count("IPv4Address=") == 16
    assert dump.count("\nPrefix=") == 8


def eam_lines(count):
    """count single-address entries, 2001:db8:1::<i> <-> 10.0.<i>: disjoint on both sides."""
    return "".join(f"EAM=2001:db8:1::{i:x}/128 10.0.{i >> 8}.{i & 255}/32\n" for i in range(count))


def test_full_eam_table_loads_quickly(tmp_path):
    path = write(tmp_path / "gateway.conf", MINIMAL + "[Translator]\n" + eam_lines(65536))
    started = time.monotonic()
    dump = dump_ok(path)
    assert time.monotonic() - started < 10
    assert dump.count("\nEAM=") == 65536
    assert "\nEAM=2001:db8:1::ffff/128 10.0.255.255/32\n" in dump


def test_eam_table_over_cap_and_overlap_in_a_big_table(tmp_path):
    path = write(tmp_path / "gateway.conf",
                 MINIMAL + "[Translator]\n" + eam_lines(65536)
                 + "EAM=2001:db8:2::/64 100.64.0.0/0\n"       # sizes differ: refused on its own
                 + "EAM=2001:db8:5::/120 10.1.0.0/24\n")      # over the cap
    errors = errors_of(path)
    assert len(errors) == 2
    assert errors[0].startswith(location(path, 65543, "Translator", "EAM"))
    assert errors[1].startswith(location(path, 65544, "Translator", "EAM"))
    assert "at most 65536" in errors[1]


def test_many_multicast_maps(tmp_path):
    text = MINIMAL + "[Multicast]\n" + "".join(f"Map=ff3e::{i:x} 234.1.{i >> 8}.{i & 255}\n" for i in range(1, 1001))
    assert dump_ok(write(tmp_path / "gateway.conf", text)).count("\nMap=") == 1000


# ---- Drop-ins ----

def test_dropins_in_lexical_order(tmp_path):
    main = write(tmp_path / "gateway.conf", MINIMAL)
    dropins = tmp_path / "gateway.conf.d"
    # Byte order, not version order: "9-" sorts after "20-".
    write(dropins / "10-first.conf", "[Translator]\nWANInterface=wan10\nIPv4Address=192.0.2.10\n")
    write(dropins / "20-second.conf", "[Translator]\nWANInterface=wan20\nIPv4Address=192.0.2.20\n")
    write(dropins / "9-last.conf", "[Translator]\nWANInterface=wan9\nIPv4Address=192.0.2.9\n")
    # Not drop-ins: other suffixes, hidden files, directories.
    write(dropins / "30-backup.conf.orig", "[Translator]\nWANInterface=backup\n")
    write(dropins / ".40-hidden.conf", "[Translator]\nWANInterface=hidden\n")
    write(dropins / "50-README", "not a configuration file\n")
    (dropins / "60-directory.conf").mkdir()
    assert dump_ok(main) == """\
[Translator]
Prefix=64:ff9b:1:fffe::/96
WANInterface=wan9
IPv4Address=198.51.100.1
IPv4Address=192.0.2.10
IPv4Address=192.0.2.20
IPv4Address=192.0.2.9
LowestIPv6MTU=1280
UDPZeroChecksum=compute

[NAT66]
ClientPrefix=2001:db8:d0be:f00d::/64
"""


def test_dropin_resets_a_list(tmp_path):
    main = write(tmp_path / "gateway.conf", MINIMAL + "[Translator]\nPrefix=2001:db8::/32\n")
    write(tmp_path / "gateway.conf.d" / "50-replace.conf", textwrap.dedent("""\
        [Translator]
        IPv4Address=
        IPv4Address=203.0.113.5
        [NAT66]
        ClientPrefix=
        ClientPrefix=2001:db8:1::/48
        """))
    write(tmp_path / "gateway.conf.d" / "60-add.conf", "[NAT66]\nClientPrefix=2001:db8:2::/48\n")
    assert dump_ok(main) == """\
[Translator]
Prefix=2001:db8::/32
WANInterface=wan0
IPv4Address=203.0.113.5
LowestIPv6MTU=1280
UDPZeroChecksum=compute

[NAT66]
ClientPrefix=2001:db8:1::/48
ClientPrefix=2001:db8:2::/48
"""


def test_dropin_completes_the_main_file(tmp_path):
    main = write(tmp_path / "gateway.conf", "[Translator]\nWANInterface=wan0\nIPv4Address=198.51.100.1\n")
    write(tmp_path / "gateway.conf.d" / "clients.conf", "[NAT66]\nClientPrefix=2001:db8:d0be:f00d::/64\n")
    assert dump_ok(main) == MINIMAL_DUMP


def test_dropin_errors_name_the_dropin(tmp_path):
    main = write(tmp_path / "gateway.conf", MINIMAL)
    dropin = write(tmp_path / "gateway.conf.d" / "10-bad.conf", "\n# comment\n[Translator]\nLowestIPv6MTU=9000x\n")
    result = run_dump(main)
    assert result.returncode == 1
    assert f"<3>{dropin}:4: [Translator] LowestIPv6MTU=: " in result.stderr


def test_sections_do_not_carry_into_the_next_file(tmp_path):
    main = write(tmp_path / "gateway.conf", MINIMAL)
    dropin = write(tmp_path / "gateway.conf.d" / "10-no-section.conf", "ClientPrefix=2001:db8:1::/48\n")
    result = run_dump(main)
    assert result.returncode == 1
    assert f"<3>{dropin}:1: ClientPrefix=: assignment outside of any section" in result.stderr


def test_eam_overlap_across_files(tmp_path):
    main = write(tmp_path / "gateway.conf", MINIMAL + "[Translator]\nEAM=2001:db8:3::/120 192.0.2.0/24\n")
    dropin = write(tmp_path / "gateway.conf.d" / "eam.conf", "[Translator]\nEAM=2001:db8:4::/120 192.0.2.0/24\n")
    assert errors_of(main) == [f"<3>{dropin}:2: [Translator] EAM=: the IPv4 side overlaps EAM= at {main}:7"]


# ---- Round trip and the shipped example ----

def test_dump_parses_back_to_itself(tmp_path):
    first = dump_ok(write(tmp_path / "a.conf", PRODUCT_EXAMPLE))
    assert dump_ok(write(tmp_path / "b.conf", first)) == first


def test_shipped_example_parses():
    assert dump_ok(SOURCE_DIR / "etc" / "gateway.conf") == """\
[Translator]
Prefix=64:ff9b:1:fffe::/96
WANInterface=wan0
IPv4Address=198.51.100.1
LowestIPv6MTU=1280
UDPZeroChecksum=compute

[NAT66]
ClientPrefix=2001:db8:d0be:f00d::/64

[NAT46]
Interface=lan0
IPv4Prefix=192.168.1.0/24

[Multicast]
Map=ff3e:40:2001:db8:d0be:f00d:d09e:f00d 234.203.0.113
"""


def test_shipped_example_commented_values_are_valid(tmp_path):
    """Uncommenting every "#Key=value" of the example still gives a valid file."""
    text = (SOURCE_DIR / "etc" / "gateway.conf").read_text()
    uncommented = re.sub(r"^#([A-Za-z0-9]+=)", r"\1", text, flags=re.M)
    assert uncommented != text
    dump = dump_ok(write(tmp_path / "gateway.conf", uncommented))
    for key in ("PortRange=", "EAM=", "RFC6791Address="):
        assert f"\n{key}" in dump


def test_fuzzer_smoke(tmp_path):
    """A short run of tests/fuzz/run-config-fuzz (needs clang with libFuzzer)."""
    if not shutil.which("clang"):
        pytest.skip("clang is not installed")
    result = subprocess.run([str(SOURCE_DIR / "tests" / "fuzz" / "run-config-fuzz"), "2000"],
                            capture_output=True, text=True, errors="replace", timeout=600,
                            env={**os.environ, "FUZZ_WORK_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
