# SPDX-License-Identifier: LGPL-2.1-or-later
"""Multicast the other way (issue 14): IPv4 groups from the WAN to IPv6
listeners on the LAN, end to end with nat64-gatewayd on the reference
topology and real sockets (mcast.py). Run as root with the system python:
    NAT64_BUILD_DIR=build /usr/bin/python3 -m pytest tests/multicast
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from fixtures import (bus, gatewayd, make_gatewayd, pytest_collection_modifyitems,  # noqa: E402,F401
                      pytest_configure, topo)
