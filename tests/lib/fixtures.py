# SPDX-License-Identifier: LGPL-2.1-or-later
"""The fixtures of every test that runs nat64-gatewayd on the reference
topology (tests/integration, tests/faults, tests/ctl import them from here).

Everything runs in network namespaces these fixtures create (named
nat64t-<random>-<role>) with a private dbus-daemon; teardown deletes the
namespaces and kills only the PIDs the fixtures started.
NAT64_BUILD_DIR selects the build directory, default ./build.
"""

import os
import shutil
import sys
from pathlib import Path

import pytest

import gatewayd as gw_lib
import topology
from privbus import PrivateBus

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "units" / "org.nat64.Gateway1.conf"


DAEMON_TOOLS = ("ip", "dbus-daemon", "busctl", "nft", "tc")


def skip_without_daemon_prerequisites(items, tools=DAEMON_TOOLS):
    """Skips the items (but those marked no_daemon) when root, the built
    daemon or one of tools is missing, saying which."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append("needs root (network namespaces, BPF)")
    if not gw_lib.daemon_binary().exists():
        reasons.append(f"{gw_lib.daemon_binary()} not built")
    for tool in tools:
        if not shutil.which(tool):
            reasons.append(f"{tool} missing (tools/install-deps)")
    if not reasons:
        return
    skip = pytest.mark.skip(reason="; ".join(reasons))
    for item in items:
        if "no_daemon" not in item.keywords:
            item.add_marker(skip)


def pytest_collection_modifyitems(config, items):
    skip_without_daemon_prerequisites(items)


def pytest_configure(config):
    config.addinivalue_line("markers", "no_daemon: runs without root, namespaces or the built daemon")


@pytest.fixture
def topo():
    t = topology.Topology().create()
    try:
        yield t
    finally:
        t.destroy()


@pytest.fixture
def bus():
    # Not under tmp_path: "nobody" must reach the socket (pytest dirs are 0700).
    b = PrivateBus(policy_files=[POLICY]).start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def make_gatewayd(topo, bus, tmp_path):
    """Factory: make_gatewayd(config_text=..., start=True) -> Gatewayd."""
    made = []

    def make(config_text=topology.GATEWAY_CONF, start=True, **kw):
        g = gw_lib.Gatewayd(topo, bus, tmp_path / f"gatewayd{len(made)}", config_text=config_text, **kw)
        made.append(g)
        if start:
            g.start()
        return g

    yield make
    for g in made:
        try:
            g.close()
        finally:
            if g.log.exists():
                # Shown by pytest for failing tests.
                sys.stderr.write(f"--- {g.log} ---\n{g.log_text()}\n")


@pytest.fixture
def gatewayd(make_gatewayd):
    return make_gatewayd()
