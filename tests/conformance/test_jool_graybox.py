# SPDX-License-Identifier: LGPL-2.1-or-later
"""Jool's SIIT graybox vectors through the loaded translator.

    NAT64_BUILD_DIR=build /usr/bin/python3 -m pytest tests/conformance

Runs run-jool-graybox with the waiver file known-failures.txt: the test
fails when a case fails that is not waived there, and prints the runner's
whole output.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "run-jool-graybox"
WAIVERS = HERE / "known-failures.txt"
DATA = Path(os.environ.get("NAT64_JOOL_GRAYBOX_DIR",
                           HERE.parents[2] / "shared" / "conformance" / "jool-graybox"))

sys.path.insert(0, str(HERE.parent / "lib"))
import xlat  # noqa: E402


def test_jool_graybox():
    if not xlat.tool_path().exists():
        pytest.skip(f"{xlat.tool_path()} not built")
    if not (DATA / "cases.json").exists():
        pytest.skip(f"no Jool graybox vectors in {DATA}")

    res = subprocess.run([str(RUNNER), "--waivers", str(WAIVERS), "--data", str(DATA)],
                         capture_output=True, text=True, timeout=600)
    print(res.stdout)
    print(res.stderr, file=sys.stderr)

    lines = res.stdout.splitlines()
    assert lines and lines[-1].startswith("jool-graybox: "), "runner did not finish"
    failed = [ln for ln in lines if ln.startswith("FAIL ")]
    assert res.returncode == 0 and not failed, \
        f"{len(failed)} case(s) failed and are not in {WAIVERS.name}:\n" + "\n".join(failed)
