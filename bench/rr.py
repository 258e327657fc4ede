#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""TCP request/response, netperf TCP_RR style (netperf is not packaged in Debian).

    rr.py server PORT            listens on [::]:PORT (IPv4 too), prints "ready",
                                 echoes 1-byte requests on one connection, then exits
    rr.py client HOST PORT SECS  one connection, one byte each way, back to back;
                                 prints one JSON line: transactions, tps, p50_us, p99_us

The loop runs in Python: its own cost (a few microseconds per transaction,
the same for every configuration) is inside the absolute figures, so compare
configurations by their ratios.
"""

import json
import socket
import sys
import time
from array import array


def server(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.listen(1)
    print("ready", flush=True)
    c, _ = s.accept()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    recv, send = c.recv, c.send
    while True:
        b = recv(1)
        if not b:
            break
        send(b)
    c.close()


def client(host, port, secs):
    c = socket.create_connection((host, port), timeout=5)
    c.settimeout(None)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    recv, send, now = c.recv, c.send, time.perf_counter_ns
    # A short warm-up outside the figures (caches, conntrack entry, ARP).
    for _ in range(200):
        send(b"x")
        recv(1)
    lat = array("q")
    append = lat.append
    start = now()
    end = start + int(secs * 1e9)
    t = start
    while t < end:
        send(b"x")
        if not recv(1):
            raise SystemExit("server closed the connection")
        t2 = now()
        append(t2 - t)
        t = t2
    c.close()
    n = len(lat)
    s = sorted(lat)
    print(json.dumps({
        "transactions": n,
        "seconds": (t - start) / 1e9,
        "tps": n / ((t - start) / 1e9),
        "p50_us": s[n // 2] / 1e3,
        "p99_us": s[min(n - 1, int(n * 0.99))] / 1e3,
    }))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "server":
        server(int(sys.argv[2]))
    elif len(sys.argv) == 5 and sys.argv[1] == "client":
        client(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit(__doc__)
