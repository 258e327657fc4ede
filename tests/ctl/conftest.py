# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures for the nat64ctl tests: nat64ctl against the real nat64-gatewayd
on a private system bus, in network namespaces. The topology, bus and daemon
fixtures are tests/lib/fixtures.py's, as for tests/integration and tests/faults.

Run as root with the system python: /usr/bin/python3 -m pytest tests/ctl
NAT64_BUILD_DIR selects the build directory (default ./build); NAT64CTL
may name another nat64ctl binary (default <build>/ctl/nat64ctl).
Teardown deletes the namespaces and kills only the PIDs the fixtures started.
"""

import pytest

from ctl_env import Ctl, nat64ctl_binary
from fixtures import bus, gatewayd, make_gatewayd, topo  # noqa: F401  (ctl_env put tests/lib on the path)


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
