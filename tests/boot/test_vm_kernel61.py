# SPDX-License-Identifier: LGPL-2.1-or-later
"""tests/boot/run-vm-kernel61 from the test run: Debian 12 booted with its
own kernel (linux-image-amd64, 6.1) under qemu/KVM, the .deb installed, the
daemon started by systemd, the translator loaded (6.1's verifier, clsact
fallback) and a LAN client's ping translated, all inside the VM; then the
packet and conformance suites run inside it too.

Only in the long run (`tools/run-tests --long`): the first run debootstraps
a tree with the kernel (a few minutes); later runs reuse it."""

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("run-vm-kernel61")


@pytest.mark.skipif(not os.environ.get("NAT64_LONG_TESTS"), reason="long run only (tools/run-tests --long)")
def test_vm_kernel61():
    r = subprocess.run([str(SCRIPT)], capture_output=True, text=True, timeout=2400)
    print(r.stdout[-3000:])
    if r.returncode == 77:
        pytest.skip(r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "cannot run here")
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]
    assert r.stdout.rstrip().splitlines()[-1].endswith(" 0 failed")
