# SPDX-License-Identifier: LGPL-2.1-or-later
"""The seed recipe end to end: ping, TCP and UDP across the translator on a
veth, once with checksum offloads on (GSO/TSO, CHECKSUM_PARTIAL) and once
off on both endpoints (full checksums: veth hides checksum bugs otherwise,
PLATFORM.md).

Run as root: NAT64_BUILD_DIR=build /usr/bin/python3 -m pytest tests/namespace
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import seedtopo  # noqa: E402
from seedtopo import A4, B4, B6, last_json, wait_ready  # noqa: E402

NBYTES = 4 * 1024 * 1024

pytestmark = [
    pytest.mark.skipif(not seedtopo.xlat.bpf_object().exists(), reason=f"{seedtopo.xlat.bpf_object()} not built"),
    pytest.mark.skipif(not all(shutil.which(t) for t in ("ip", "tc", "ethtool", "ping")),
                       reason="ip, tc, ethtool and ping needed"),
]


@pytest.fixture(params=["offload-on", "offload-off"])
def seed(request):
    t = seedtopo.SeedTopology().create()
    try:
        t.attach()
        t.offloads(request.param == "offload-on")
        yield t
    finally:
        t.destroy()


def test_ping(seed):
    r = subprocess.run(["ip", "netns", "exec", seed.a, "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", B6],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert " 0% packet loss" in r.stdout


@pytest.mark.parametrize("size", [1200, 1232, 1233, 1400])
def test_ping_large(seed, size):
    """b answers with DF=0: replies over 1260 bytes are split into two IPv6
    fragments by the translator (the tail through bpf_clone_redirect)."""
    r = subprocess.run(["ip", "netns", "exec", seed.a, "ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", "-s",
                        str(size), B6], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("direction", ["a-sends", "b-sends"])
def test_tcp(seed, direction):
    mode = ("sink", "send") if direction == "a-sends" else ("source", "recv")
    srv = seed.traffic(seed.b, "tcp-server", "5001", mode[0], str(NBYTES))
    wait_ready(srv)
    cli = seed.traffic(seed.a, "tcp-client", B6, "5001", mode[1], str(NBYTES))
    c = last_json(cli)
    s = last_json(srv)
    assert c["bytes"] == s["bytes"] == NBYTES
    assert c["sha256"] == s["sha256"]
    assert s["peer"] == A4, "zb sees za's IPv4 side address"


@pytest.mark.parametrize("size", [64, 1000, 1400])
def test_udp(seed, size):
    srv = seed.traffic(seed.b, "udp-echo", "5002", "20")
    wait_ready(srv)
    cli = seed.traffic(seed.a, "udp-client", B6, "5002", "20", str(size))
    c = last_json(cli)
    s = last_json(srv)
    assert c == {"sent": 20, "echoed": 20}
    assert all(p[0] == A4 for p in s["peers"])


def test_no_address_of_b_leaks_to_a(seed):
    """b has no IPv6 and a no IPv4: the only way across is the translator."""
    r = subprocess.run(["ip", "netns", "exec", seed.a, "ping", "-4", "-c", "1", "-W", "1", B4],
                       capture_output=True, text=True)
    assert r.returncode != 0
