# SPDX-License-Identifier: LGPL-2.1-or-later
"""bench/translator-cost runs: every frame kind takes the fast path (the tool
exits non-zero unless plain mode answers TC_ACT_OK and gateway mode, with a
real route and neighbour, TC_ACT_REDIRECT for every frame), and it prints a
row per frame kind and mode. No timing is asserted."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_translator_cost_runs_the_fast_path():
    before = set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split())
    r = subprocess.run(["/usr/bin/python3", str(ROOT / "bench" / "translator-cost"), "--frames", "200", "--passes", "1"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = re.findall(r"^(6to4|4to6) (UDP 64 B|TCP 1400 B)\s+(plain|gateway)\s+(\d+)\s+(\d+)\s+(-?\d+)$",
                      r.stdout, re.M)
    assert {(d, f, m) for d, f, m, *_ in rows} == {
        (d, f, m) for d in ("6to4", "4to6") for f in ("UDP 64 B", "TCP 1400 B") for m in ("plain", "gateway")}
    after = set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split())
    assert not {n for n in after - before if n.startswith("nat64c-")}, "its namespace was left behind"
