# SPDX-License-Identifier: LGPL-2.1-or-later
"""Issue 12: an nftables flowtable in the daemon's table, tried on Debian 12's
own kernel (6.1; the development kernel has no flowtables).
tests/boot/run-vm-flowtable61 boots it under qemu (TCG) and runs
tests/boot/flowtable61-check inside: real TCP, UDP and NAT46 traffic
through the build tree's daemon with `flow add` for established flows,
and every finding of tests/boot/README.md checked as observed (what works
and what differs from the slow path), so a change in the kernel's or the
daemon's behaviour fails here.

Long run only (`tools/run-tests --long`): 60-80 s with the cache, more than
the default run's budget; the first run debootstraps the Debian 12 tree
(tests/boot/vm61.sh, a few minutes)."""

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("run-vm-flowtable61")


@pytest.mark.skipif(not os.environ.get("NAT64_LONG_TESTS"), reason="long run only (tools/run-tests --long)")
def test_vm_flowtable61():
    r = subprocess.run([str(SCRIPT)], capture_output=True, text=True, timeout=1800)
    print(r.stdout[-6000:])
    if r.returncode == 77:
        pytest.skip(r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "cannot run here")
    assert r.returncode == 0, r.stdout[-8000:] + r.stderr[-3000:]
    assert r.stdout.rstrip().splitlines()[-1].endswith(" 0 failed")
