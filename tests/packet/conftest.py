# SPDX-License-Identifier: LGPL-2.1-or-later
"""Packet tests: frames through BPF_PROG_TEST_RUN (tools/nat64-xlat-run).

Run as root with the system python:
    NAT64_BUILD_DIR=build /usr/bin/python3 -m pytest tests/packet
Expected packets are built with scapy from the RFC rules, never copied
from the translator's output.
"""
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))
sys.path.insert(0, str(HERE))

import xlat  # noqa: E402


def pytest_collection_modifyitems(config, items):
    if not xlat.tool_path().exists():
        skip = pytest.mark.skip(reason=f"{xlat.tool_path()} not built")
        for item in items:
            if Path(str(item.fspath)).parent == HERE:
                item.add_marker(skip)
