# SPDX-License-Identifier: LGPL-2.1-or-later
"""tests/boot/run-systemd-boot from the test run: Debian 12 booted with
systemd as PID 1 (systemd-nspawn -b), the .deb installed, `systemctl enable
--now nat64-gateway`, reload, stop, busctl, nat64ctl, the journal.

Only in the long run (`tools/run-tests --long`): the first run debootstraps
a 300 MB tree (about 3 minutes); later runs reuse it (under a minute)."""

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("run-systemd-boot")


@pytest.mark.skipif(not os.environ.get("NAT64_LONG_TESTS"), reason="long run only (tools/run-tests --long)")
def test_systemd_boot():
    r = subprocess.run([str(SCRIPT)], capture_output=True, text=True, timeout=1200)
    print(r.stdout[-3000:])
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]
    assert r.stdout.rstrip().splitlines()[-1].endswith(" 0 failed")
