# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures of the HA tests: two gateway nodes with keepalived and
conntrackd (the Debian packages), in namespaces only (halib.py).
Run as root with the system python:
    /usr/bin/python3 -m pytest tests/ha      (NAT64_BUILD_DIR: the build directory)
"""

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

import gatewayd as gw_lib  # noqa: E402
import halib  # noqa: E402
from fixtures import bus, make_gatewayd, topo  # noqa: E402,F401  (test_api: one gateway)


def pytest_collection_modifyitems(config, items):
    reasons = []
    if os.geteuid() != 0:
        reasons.append("needs root (network namespaces, BPF)")
    if not gw_lib.daemon_binary().exists():
        reasons.append(f"{gw_lib.daemon_binary()} not built")
    for tool in ("ip", "dbus-daemon", "busctl", "nft", "conntrack", "conntrackd", "keepalived"):
        if not shutil.which(tool):
            reasons.append(f"{tool} missing (tools/install-deps)")
    if not reasons:
        return
    skip = pytest.mark.skip(reason="; ".join(reasons))
    for item in items:
        item.add_marker(skip)


def _pair(tmp_path, active_active):
    topo = halib.HATopology(active_active=active_active).create()
    nodes = {}
    try:
        nodes = halib.start_pair(topo, tmp_path)
        yield topo, nodes
    finally:
        for n in nodes.values():
            try:
                n.stop()
            finally:
                n.dump_logs()
        topo.destroy()


@pytest.fixture
def pair(tmp_path):
    """Active/backup: gwa master (priority 150), gwb backup."""
    yield from _pair(tmp_path, False)


@pytest.fixture
def active_pair(tmp_path):
    """Active/active: gwa master of VI_A, gwb of VI_B, each the other's backup."""
    yield from _pair(tmp_path, True)
