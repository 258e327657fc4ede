# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fault injection on the reference topology: tests/lib/fixtures.py's fixtures."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from fixtures import (bus, gatewayd, make_gatewayd, pytest_collection_modifyitems,  # noqa: E402,F401
                      pytest_configure, topo)
