# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures of the HA tests: two gateway nodes with keepalived and
conntrackd (the Debian packages), in namespaces only (halib.py).
Run as root with the system python:
    /usr/bin/python3 -m pytest tests/ha      (NAT64_BUILD_DIR: the build directory)
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

import halib  # noqa: E402
from fixtures import (DAEMON_TOOLS, bus, make_gatewayd, skip_without_daemon_prerequisites,  # noqa: E402,F401
                      topo)  # (test_api: one gateway)


def pytest_collection_modifyitems(config, items):
    skip_without_daemon_prerequisites(items, DAEMON_TOOLS + ("conntrack", "conntrackd", "keepalived"))


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
