# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures for the fast path's tests: the daemon on the reference topology
(tests/lib/fixtures.py) with [NAT66] FastPath=yes on the LAN bridge."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from fixtures import (bus, gatewayd, make_gatewayd, pytest_collection_modifyitems,  # noqa: E402,F401
                      pytest_configure, topo)
