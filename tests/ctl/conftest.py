# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures for the nat64ctl tests: nat64ctl against the real nat64-gatewayd
on a private system bus, in network namespaces. The topology, bus and daemon
fixtures are tests/integration's, loaded by path (as tests/faults does).

Run as root with the system python: /usr/bin/python3 -m pytest tests/ctl
NAT64_BUILD_DIR selects the build directory (default ./build); NAT64CTL
may name another nat64ctl binary (default <build>/ctl/nat64ctl).
Teardown deletes the namespaces and kills only the PIDs the fixtures started.
"""

import importlib.util
from pathlib import Path

import pytest

from ctl_env import Ctl, nat64ctl_binary

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("nat64_integration_conftest", HERE.parent / "integration" / "conftest.py")
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)

topo = _integration.topo
bus = _integration.bus
make_gatewayd = _integration.make_gatewayd
gatewayd = _integration.gatewayd


def _require_binary():
    b = nat64ctl_binary()
    if not b.exists():
        pytest.skip(f"{b} not built (meson setup build && ninja -C build)")


@pytest.fixture
def ctl():
    """nat64ctl without a bus: usage errors, check-config."""
    _require_binary()
    return Ctl()


@pytest.fixture
def bus_ctl(bus):
    """nat64ctl on a private bus where no daemon runs."""
    _require_binary()
    return Ctl(bus.address)


@pytest.fixture
def daemon_ctl(gatewayd, bus):
    _require_binary()
    return Ctl(bus.address)
