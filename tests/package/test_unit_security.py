# SPDX-License-Identifier: LGPL-2.1-or-later
"""systemd's own judgement of the unit's sandbox: `systemd-analyze security`
in offline mode on the unit as meson generates it. 2.0 is the top of what it
calls "OK"; the unit scores 1.7 (every capability kept is explained in it)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[2]
THRESHOLD = 20          # systemd-analyze's scale is 0..100, printed divided by 10


def test_unit_exposure_is_ok():
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    unit = Path(os.environ.get("NAT64_BUILD_DIR", ROOT / "build")) / "units" / "nat64-gateway.service"
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", f"--threshold={THRESHOLD}", str(unit)],
                       capture_output=True, text=True, timeout=60)
    print(r.stdout.splitlines()[-1] if r.stdout else r.stderr)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Overall exposure level" in r.stdout
