# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the nat64ctl tests share: where the binaries are, tests/lib, and a
runner for nat64ctl.
A module of its own name, not conftest: every test directory has a conftest."""

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "lib"))

import gatewayd as gw_lib  # noqa: E402
import topology  # noqa: E402


def build_dir() -> Path:
    return Path(os.environ.get("NAT64_BUILD_DIR", ROOT / "build"))


def nat64ctl_binary() -> Path:
    return Path(os.environ.get("NAT64CTL", build_dir() / "ctl" / "nat64ctl"))


def as_user(user, cmd):
    return ["setpriv", f"--reuid={user}", "--regid=nogroup", "--clear-groups", *cmd]


@functools.lru_cache(maxsize=None)
def binary_for(user):
    """nat64ctl as user can run it: the build's, or a copy where the build
    directory is not open to others (a checkout under a 0700 directory)."""
    binary = nat64ctl_binary()
    if not user or subprocess.run(as_user(user, [str(binary), "--version"]), capture_output=True).returncode == 0:
        return binary
    copy_dir = Path(tempfile.mkdtemp(prefix="nat64ctl-"))
    atexit.register(shutil.rmtree, copy_dir, True)
    os.chmod(copy_dir, 0o755)
    return Path(shutil.copy(binary, copy_dir / "nat64ctl"))


class Ctl:
    """Runs nat64ctl; on a bus (address) unless told otherwise."""

    def __init__(self, address=None):
        self.address = address

    def __call__(self, *args, user=None, address=True, env=None, timeout=30):
        cmd = [str(binary_for(user))]
        if address and self.address:
            cmd.append(f"--address={self.address}")
        cmd += list(args)
        if user:
            cmd = as_user(user, cmd)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env=env if env is not None else os.environ.copy())
