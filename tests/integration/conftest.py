# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures for the end-to-end tests of nat64-gatewayd.

Everything runs in network namespaces these fixtures create (named
nat64t-<random>-<role>) with a private dbus-daemon; teardown deletes the
namespaces and kills only the PIDs the fixtures started.
Run as root with the system python: /usr/bin/python3 -m pytest tests/integration
(NAT64_BUILD_DIR selects the build directory, default ./build).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from fixtures import (bus, gatewayd, make_gatewayd, pytest_collection_modifyitems,  # noqa: E402,F401
                      pytest_configure, topo)
