# SPDX-License-Identifier: LGPL-2.1-or-later
"""Differential fuzz of the fast path (fuzz_fastpath.py): mutated frames of
real conntrack flows through xlat_fastpath, each answer against xlat_6to4's
for the NAT66 rewrite of the frame, every punt by its reason; and their
replies from the WAN through xlat_4to6, the cached one pass against the
general way (4to6, conntrack, the de-NAT, the FIB).

The topology, the daemon and the flows are made once per module; each
property family is its own test, so that one kind of failure (too-big has
a test of its own) does not hide the rest. NAT64_FUZZ_PACKETS overrides the count
(NAT64_LONG_TESTS=1: 10 million), NAT64_FUZZ_SEED the seed.
"""
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fuzz_fastpath  # noqa: E402 (it puts tests/lib on the path)
import fixtures  # noqa: E402
import gatewayd as gw_lib  # noqa: E402
import xlat  # noqa: E402

PACKETS = fuzz_fastpath.fx.packet_count(100000)

# Failure kinds with a test of their own: the leading words of their failures
KNOWN = {
    "too-big": fuzz_fastpath.TOO_BIG,
}


def _missing():
    missing = [str(p) for p in (xlat.tool_path(), gw_lib.daemon_binary()) if not p.exists()]
    missing += [t for t in (*fixtures.DAEMON_TOOLS, "conntrack") if not shutil.which(t)]
    return missing


pytestmark = pytest.mark.skipif(bool(_missing()), reason=f"missing: {', '.join(_missing())}")


@pytest.fixture(scope="module")
def fuzz_result(tmp_path_factory):
    lines = []
    try:
        with fuzz_fastpath.gateway_with_flows(tmp_path_factory.mktemp("fastpath-fuzz")) as (topo, flows):
            lines += [f"flow: {f}" for f in flows]
            failures, stats = fuzz_fastpath.fuzz_in(topo, flows, PACKETS,
                                                    seed=int(os.environ.get("NAT64_FUZZ_SEED", "1")),
                                                    log=lines.append)
    except fuzz_fastpath.FastPathUnavailable as e:
        pytest.skip(str(e))
    sys.stderr.write("\n".join(lines) + "\n")
    return failures, stats


def _of_kind(failures, kind):
    return [f for f in failures if f[4].startswith(KNOWN[kind])]


def test_fastpath_fuzz_ran_every_packet(fuzz_result):
    failures, stats = fuzz_result
    tool = [f for f in failures if f[4].startswith("tool failure")]
    assert not tool, fuzz_fastpath.describe(tool)
    assert sum(v for k, v in stats.items() if not k.startswith(("taken rv=", "reply "))) == PACKETS, stats


def test_fastpath_fuzz_reaches_every_outcome(fuzz_result):
    """The flows' packets are taken, and each rule's frames punt (else the oracle proves little)."""
    _, stats = fuzz_result
    for outcome in ("taken", "pass", "punt-header", "punt-route", "punt-tcp-control", "punt-no-entry",
                    "punt-not-established", "taken rv=7"):
        assert stats[outcome] > 0, (outcome, stats)


def test_fastpath_fuzz_replies_took_the_cached_one_pass(fuzz_result):
    """The reply direction's frames were taken the general way and then from their slot."""
    _, stats = fuzz_result
    assert stats["reply taken"] > 0 and stats["reply cached"] > 0, stats
    assert stats["reply rv=2"] > 0 and stats["reply rv=0"] > 0, stats     # and not only the common case


def test_fastpath_fuzz_properties(fuzz_result):
    """Taken: xlat_6to4 of the NAT66 rewrite; not taken: untouched, one punt counter, the rules' reason."""
    failures, _ = fuzz_result
    other = [f for f in failures if not any(f[4].startswith(v) for v in KNOWN.values())]
    assert not other, fuzz_fastpath.describe(other)


def test_fastpath_fuzz_too_big_left_to_the_slow_path(fuzz_result):
    """Larger than the translator link: punted, so the kernel's Packet Too
    Big reaches the client (it failed before the fast path checked it)."""
    bad = _of_kind(fuzz_result[0], "too-big")
    assert not bad, fuzz_fastpath.describe(bad)
