# SPDX-License-Identifier: LGPL-2.1-or-later
"""bench/profile runs: for P with a 1 s window it writes a table whose
stages' shares of the forwarding CPU's samples sum to 100%, and it finds the
translator: samples in the tc + BPF stage, among them the xlat_6to4
program's own code. It leaves no namespace behind. No timing is asserted.

Run as root: NAT64_BUILD_DIR=build /usr/bin/python3 -m pytest tests/namespace/test_bench_profile.py
"""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("NAT64_BUILD_DIR", ROOT / "build"))

pytestmark = [
    pytest.mark.skipif(not (BUILD / "gatewayd" / "nat64-gatewayd").exists(),
                       reason=f"{BUILD}/gatewayd/nat64-gatewayd not built"),
    pytest.mark.skipif(not all(shutil.which(t) for t in ("perf", "iperf3", "nft", "dbus-daemon", "busctl")),
                       reason="perf, iperf3, nft, dbus-daemon and busctl needed"),
]


def namespaces():
    return set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split())


def test_profile_of_p_finds_the_translator(tmp_path):
    before = namespaces()
    out, js = tmp_path / "PROFILE.md", tmp_path / "profile.json"
    r = subprocess.run(["/usr/bin/python3", str(ROOT / "bench" / "profile"), "--configs", "P", "--duration", "1",
                        "--out", str(out), "--json", str(js)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    md = out.read_text()
    res = json.loads(js.read_text())
    assert re.search(r"^- machine: .*\(lscpu\)", md, re.M), md

    # The shares table: one row per stage, the P column sums to 100%.
    table = md[md.index("| stage (share of the CPU's busy samples, %) | P |"):].split("\n\n")[0]
    rows = [line.split("|")[1:-1] for line in table.splitlines()[2:]]
    shares = {label.strip(): float(v) for label, v in rows if label.strip() != "sum"}
    assert len(shares) == len(res["stages"]), table
    assert abs(sum(shares.values()) - 100) < 0.5, table

    p = res["pooled"]["P"]
    assert p["busy_samples"] > 0 and p["forwarded"] > 0, p
    assert abs(sum(p["share"].values()) - 100) < 0.01, p["share"]
    assert p["samples"]["tc_bpf"] > 0, p["samples"]
    assert p["bpf_samples"].get("program", 0) > 0, p["bpf_samples"]
    leaves = [leaf for r in res["rounds"]["P"] for leaf, _ in r["top"].get("tc_bpf", [])]
    assert any(re.match(r"bpf_prog_[0-9a-f]{16}_xlat_6to4$", leaf) for leaf in leaves), leaves
    assert not {n for n in namespaces() - before if n.startswith("nat64b-")}, "its namespaces were left behind"
