# SPDX-License-Identifier: LGPL-2.1-or-later
"""bench/translator-cost runs: every frame kind takes the fast path (the tool
exits non-zero unless plain mode answers TC_ACT_OK and gateway mode, with a
real route and neighbour, TC_ACT_REDIRECT for every frame), and it prints a
row per frame kind and mode. With --floor, every variant of the object with
one helper stood in for (bench/helper-floor.h) loads and gives every frame
the same verdict (the tool exits non-zero otherwise), and the floor table has
a share for each helper the row's path calls. No timing is asserted."""

import re
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROW = r"^(6to4|4to6) (UDP 64 B|TCP 1400 B)\s+(plain|gateway)"


def namespaces():
    return set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split())


def test_translator_cost_runs_the_fast_path():
    before = namespaces()
    r = subprocess.run(["/usr/bin/python3", str(ROOT / "bench" / "translator-cost"), "--frames", "200", "--passes", "1"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = re.findall(ROW + r"\s+(\d+)\s+(\d+)\s+(-?\d+)$", r.stdout, re.M)
    assert {(d, f, m) for d, f, m, *_ in rows} == {
        (d, f, m) for d in ("6to4", "4to6") for f in ("UDP 64 B", "TCP 1400 B") for m in ("plain", "gateway")}
    assert not {n for n in namespaces() - before if n.startswith("nat64c-")}, "its namespace was left behind"


def test_floor_variants_keep_the_verdicts():
    before, tmp_before = namespaces(), set(Path(tempfile.gettempdir()).glob("nat64-floor-*"))
    r = subprocess.run(["/usr/bin/python3", str(ROOT / "bench" / "translator-cost"), "--frames", "50", "--passes", "1",
                        "--floor"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "not measured" not in r.stdout, r.stdout
    floor = r.stdout[r.stdout.index("helper floor"):]
    header = re.search(r"^frame\s+mode\s+cost\s+(.*?)\s+floor\s+all\s+own\s+ctl$", floor, re.M).group(1).split()
    assert header == ["fib", "proto", "l4csum", "redir", "count"]
    rows = {m[:3]: m[4].split() for m in re.findall(ROW + r"\s+(-?\d+)((?:\s+(?:-?\d+|-)){%d})$" % (len(header) + 4), floor, re.M)}
    assert len(rows) == 8, floor
    for (direction, what, mode), cells in rows.items():
        shares = dict(zip(header, cells[:len(header)]))
        measured = {h for h, v in shares.items() if v != "-"}
        expect = {"proto", "l4csum", "count"}
        if mode == "gateway":
            expect |= {"fib", "redir"} if direction == "6to4" else {"redir"}
        assert measured == expect, (direction, what, mode, shares)
        assert abs(int(cells[len(header)]) - sum(int(shares[h]) for h in measured)) <= len(measured)  # each rounded
    assert not {n for n in namespaces() - before if n.startswith("nat64c-")}, "its namespace was left behind"
    assert set(Path(tempfile.gettempdir()).glob("nat64-floor-*")) <= tmp_before, "its variants were left behind"
