# SPDX-License-Identifier: LGPL-2.1-or-later
"""Debian 12's own kernel (6.1) loads the translator: tests/boot/run-vm-verifier61
boots it under qemu with a one-shot init that loads build/bpf/nat64.bpf.o
with bpftool, every program of it. 6.18 here accepts what 6.1 refuses (a
larger combined stack, weaker range tracking, kfuncs it lacks), so every
run asks 6.1 itself; the full boot with the daemon and the suites inside
the VM is tests/boot/run-vm-kernel61 (long runs).

The first run debootstraps a minimal Debian 12 with linux-image-amd64 and
bpftool into /var/cache/nat64-gateway-boot (a minute or two); later runs
take about 30 s."""

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("run-vm-verifier61")
BUILD_DIR = Path(os.environ.get("NAT64_BUILD_DIR", Path(__file__).resolve().parents[2] / "build"))


def test_kernel61_verifier_loads_the_translator():
    obj = BUILD_DIR / "bpf" / "nat64.bpf.o"
    if not obj.exists():
        pytest.skip(f"{obj} not built")
    r = subprocess.run([str(SCRIPT), str(obj)], capture_output=True, text=True, timeout=900)
    print(r.stdout[-3000:])
    if r.returncode == 77:
        pytest.skip(r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "cannot run here")
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]
    assert r.stdout.rstrip().splitlines()[-1] == "1 passed, 0 failed"
