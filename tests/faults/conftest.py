# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fault injection on the reference topology: the fixtures of tests/integration, reused."""

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))

_spec = importlib.util.spec_from_file_location("nat64_integration_conftest", HERE.parent / "integration" / "conftest.py")
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)

pytest_collection_modifyitems = _integration.pytest_collection_modifyitems
pytest_configure = _integration.pytest_configure
topo = _integration.topo
bus = _integration.bus
make_gatewayd = _integration.make_gatewayd
gatewayd = _integration.gatewayd
