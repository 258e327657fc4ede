# SPDX-License-Identifier: LGPL-2.1-or-later
"""Suite-wide settings: every test needs root (namespaces, BPF)."""
import os

import pytest


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="needs root (network namespaces, BPF)")
        for item in items:
            item.add_marker(skip)
