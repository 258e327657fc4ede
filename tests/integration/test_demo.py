# SPDX-License-Identifier: LGPL-2.1-or-later
"""tools/demo, the quick start's first command after the build: it shows
translated traffic and says so by its exit status. A demo that prints a
failure (a missing ping, once, on a fresh machine) must not end as a
success."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("NAT64_BUILD_DIR", ROOT / "build"))
DEMO = ROOT / "tools" / "demo"


def run_demo(env=None):
    if not (BUILD_DIR / "gatewayd" / "nat64-gatewayd").exists():
        pytest.skip(f"no daemon in {BUILD_DIR}")
    return subprocess.run([sys.executable, str(DEMO), str(BUILD_DIR)], capture_output=True, text=True,
                          timeout=300, env=env)


def test_demo_shows_translated_traffic():
    r = run_demo()
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "3 received, 0% packet loss" in r.stdout
    assert "OK: identical, and inet saw the gateway's IPv4 address" in r.stdout
    assert '"packets-6to4"' in r.stdout and "FAILED" not in r.stdout
    assert "namespaces nat64t-" in r.stdout and "deleted" in r.stdout


def test_demo_fails_when_a_step_fails(tmp_path):
    """A ping that cannot run (here: one that always fails, first in PATH)."""
    fake = tmp_path / "ping"
    fake.write_text("#!/bin/sh\necho 'ping: simulated failure' >&2\nexit 2\n")
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f"{tmp_path}:{os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}")
    r = run_demo(env)
    assert r.returncode == 1, r.stdout[-4000:] + r.stderr[-2000:]
    assert "demo: FAILED: ping from lan6" in r.stdout
    assert "deleted" in r.stdout          # and it still cleaned up
