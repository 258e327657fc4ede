# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures for the nat64ctl tests: nat64ctl against the real nat64-gatewayd
on a private system bus, in network namespaces (tests/lib does the work).

Run as root with the system python: /usr/bin/python3 -m pytest tests/ctl
NAT64_BUILD_DIR selects the build directory (default ./build); NAT64CTL
may name another nat64ctl binary (default <build>/ctl/nat64ctl).
Teardown deletes the namespaces and kills only the PIDs the fixtures started.
"""

import shutil
import sys

import pytest

from ctl_env import LIB_ERROR, POLICY, Ctl, PrivateBus, gw_lib, nat64ctl_binary, topology


def _require(*reasons):
    reasons = [r for r in reasons if r]
    if reasons:
        pytest.skip("; ".join(reasons))


def _binary_reason():
    b = nat64ctl_binary()
    return None if b.exists() else f"{b} not built (meson setup build && ninja -C build)"


@pytest.fixture
def ctl():
    """nat64ctl without a bus: usage errors, check-config."""
    _require(_binary_reason())
    return Ctl()


@pytest.fixture
def bus():
    _require(_binary_reason(), LIB_ERROR,
             None if shutil.which("dbus-daemon") else "dbus-daemon missing (Debian package dbus)",
             None if shutil.which("busctl") else "busctl missing (Debian package systemd)")
    b = PrivateBus(policy_files=[POLICY]).start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def bus_ctl(bus):
    """nat64ctl on a private bus where no daemon runs."""
    return Ctl(bus.address)


@pytest.fixture
def topo():
    _require(LIB_ERROR)
    t = topology.Topology().create()
    try:
        yield t
    finally:
        t.destroy()


@pytest.fixture
def gatewayd(topo, bus, tmp_path):
    """The daemon on the reference topology (topology.GATEWAY_CONF), READY."""
    _require(None if gw_lib.daemon_binary().exists() else f"{gw_lib.daemon_binary()} not built")
    g = gw_lib.Gatewayd(topo, bus, tmp_path / "gatewayd")
    try:
        g.start()
        yield g
    finally:
        try:
            g.close()
        finally:
            sys.stderr.write(f"--- {g.log} ---\n{g.log_text()}\n")


@pytest.fixture
def daemon_ctl(gatewayd, bus):
    return Ctl(bus.address)
