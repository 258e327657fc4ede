# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fuzz smoke: 200000 mutated frames through both programs (fuzz_xlat.py).

The run happens once per session; each property family is its own test so
that a known translator bug (xfail, reason names it) does not hide the rest.
NAT64_FUZZ_PACKETS overrides the count (NAT64_LONG_TESTS=1: 10 million).
"""
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))
sys.path.insert(0, str(HERE))

import fuzz_xlat  # noqa: E402
import xlat  # noqa: E402

PACKETS = int(os.environ.get("NAT64_FUZZ_PACKETS",
                             "10000000" if os.environ.get("NAT64_LONG_TESTS") else "200000"))

# Reasons (their leading words) that belong to known translator bugs
KNOWN = {
    "icmp-error-checksum": "ICMP error with a wrong checksum translated into a valid one",
    "icmp-too-short": "translated an ICMP message shorter than its header",
    "ipv6-ext-protocol": "IPv4 protocol",
    "icmpv4-in-ipv6": "IPv6 next header",
    "quoted-protocol": "quoted packet with protocol",
    "udp-zero-6to4": "IPv6 UDP checksum 0",
    "error-outer-tos": "outer TOS of a translated ICMP error",
    "split-icmp": "split packet: ",
    "error-about-error": "ICMP error generated about",
    "hairpin-eam-form": "hairpinned a destination in EAM form",
}

pytestmark = pytest.mark.skipif(not xlat.tool_path().exists(), reason=f"{xlat.tool_path()} not built")


@pytest.fixture(scope="module")
def fuzz_result():
    lines = []
    failures, stats = fuzz_xlat.fuzz(PACKETS, seed=int(os.environ.get("NAT64_FUZZ_SEED", "1")), batch=20000,
                                     log=lines.append)
    sys.stderr.write("\n".join(lines) + "\n")
    return failures, stats


def _of_kind(failures, kind):
    return [f for f in failures if f[4].startswith(KNOWN[kind])]


def _describe(failures):
    return "\n".join(f"{n} {d} {m:x} {f.hex()[:200]}: {why}" for n, d, m, f, why in failures[:10])


def test_fuzz_ran_every_packet(fuzz_result):
    failures, stats = fuzz_result
    assert sum(v for k, v in stats.items() if " rv=" in k) == PACKETS, _describe([f for f in failures if f[4].startswith("tool failure")])


def test_fuzz_properties(fuzz_result):
    """Verdicts, no crash, well-formed outputs, checksums, address mapping."""
    failures, _ = fuzz_result
    other = [f for f in failures if not any(f[4].startswith(v) for v in KNOWN.values())]
    assert not other, _describe(other)


def test_fuzz_icmp_error_checksum_not_laundered(fuzz_result):
    bad = _of_kind(fuzz_result[0], "icmp-error-checksum")
    assert not bad, _describe(bad)


def test_fuzz_short_icmp_not_translated(fuzz_result):
    bad = _of_kind(fuzz_result[0], "icmp-too-short")
    assert not bad, _describe(bad)


def test_fuzz_ipv4_protocol_ext_header_numbers(fuzz_result):
    bad = _of_kind(fuzz_result[0], "ipv6-ext-protocol")
    assert not bad, _describe(bad)


def test_fuzz_icmpv4_in_ipv6_not_translated(fuzz_result):
    bad = _of_kind(fuzz_result[0], "icmpv4-in-ipv6")
    assert not bad, _describe(bad)


def test_fuzz_quoted_protocol_rules(fuzz_result):
    """An ICMP error quoting a packet the outer rules refuse is refused too."""
    bad = _of_kind(fuzz_result[0], "quoted-protocol")
    assert not bad, _describe(bad)


def test_fuzz_udp_zero_checksum_6to4(fuzz_result):
    bad = _of_kind(fuzz_result[0], "udp-zero-6to4")
    assert not bad, _describe(bad)


def test_fuzz_error_outer_tos(fuzz_result):
    bad = _of_kind(fuzz_result[0], "error-outer-tos")
    assert not bad, _describe(bad)


def test_fuzz_split_checksum(fuzz_result):
    bad = _of_kind(fuzz_result[0], "split-icmp")
    assert not bad, _describe(bad)


def test_fuzz_no_error_about_errors(fuzz_result):
    bad = _of_kind(fuzz_result[0], "error-about-error")
    assert not bad, _describe(bad)


def test_fuzz_hairpin_only_prefix_form(fuzz_result):
    bad = _of_kind(fuzz_result[0], "hairpin-eam-form")
    assert not bad, _describe(bad)
