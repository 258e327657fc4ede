#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Per-packet cost of the translator's tc programs over real traffic.

    bpf_cost.py [--seconds 5] [--build DIR]

Builds the seed topology (seedtopo.py) in fresh namespaces, attaches
nat64.bpf.o (4to6 on za ingress, 6to4 on za egress), runs iperf3 TCP and
UDP from a (IPv6) to b (IPv4) through it and reads run_time_ns / run_cnt of
both programs from `bpftool prog show -j` (kernel.bpf_stats_enabled=1 only
for the duration; the old value is restored). A second run attaches
empty.bpf.o (`sec tc`) on the same two hooks and sends the same traffic as
plain IPv4 (za gets 192.168.2.1/24), as the baseline of a tc program that
does nothing. Test-run timings (repeat > 1) would measure an already
translated packet, hence real traffic (PLATFORM.md).
Client on one CPU, server on another. Prints a table; numbers move 10-20%
between runs.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import seedtopo  # noqa: E402
from seedtopo import A4, B4, B6, sh  # noqa: E402

SYSCTL = "/proc/sys/kernel/bpf_stats_enabled"


def prog_stats(pid):
    r = subprocess.run(["bpftool", "-j", "prog", "show", "id", str(pid)], capture_output=True, text=True, check=True)
    d = json.loads(r.stdout)
    return d.get("run_time_ns", 0), d.get("run_cnt", 0)


def iperf(topo, target, udp, seconds, cpus):
    srv = topo.start(topo.b, "iperf3", "-s", "-1", "-B", B4, cpu=cpus[-1])
    time.sleep(0.5)
    args = ["iperf3", "-c", target, "-t", str(seconds), "-J"]
    if udp:
        args += ["-u", "-b", "0", "-l", "1200"]
    cli = topo.start(topo.a, *args, cpu=cpus[0])
    out, err = cli.communicate(timeout=seconds + 30)
    srv.communicate(timeout=10)
    try:
        d = json.loads(out)
        end = d["end"]
        bps = (end.get("sum_received") or end.get("sum"))["bits_per_second"]
        return bps
    except (ValueError, KeyError, TypeError):
        raise RuntimeError(f"iperf3 failed: {out[-300:]} {err[-300:]}")


def measure(obj, sec_in, sec_out, plain_ipv4, seconds, cpus):
    topo = seedtopo.SeedTopology("nat64c").create()
    rows = []
    try:
        if plain_ipv4:
            sh("ip", "-n", topo.a, "addr", "add", f"{A4}/24", "dev", "za")
        topo.attach(obj, sec_in, sec_out)
        ids = topo.prog_ids()
        target = B4 if plain_ipv4 else B6
        for udp in (False, True):
            before = {h: prog_stats(ids[h]) for h in ids}
            bps = iperf(topo, target, udp, seconds, cpus)
            after = {h: prog_stats(ids[h]) for h in ids}
            cost = {}
            for h in ids:
                dt = after[h][0] - before[h][0]
                dn = after[h][1] - before[h][1]
                cost[h] = (dn, dt / dn if dn else float("nan"))
            rows.append(("udp" if udp else "tcp", bps, cost))
    finally:
        topo.destroy()
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--build", default=None, help="build directory (default $NAT64_BUILD_DIR or ./build)")
    a = ap.parse_args()
    if a.build:
        os.environ["NAT64_BUILD_DIR"] = a.build
    nat64 = seedtopo.xlat.bpf_object("nat64")
    empty = seedtopo.xlat.bpf_object("empty")
    for f in (nat64, empty):
        if not f.exists():
            sys.exit(f"{f} not built")
    cpus = sorted(os.sched_getaffinity(0))
    old = Path(SYSCTL).read_text().strip()
    Path(SYSCTL).write_text("1\n")
    try:
        xl = measure(nat64, "4to6", "6to4", False, a.seconds, cpus)
        base = measure(empty, "tc", "tc", True, a.seconds, cpus)
    finally:
        Path(SYSCTL).write_text(old + "\n")
    print(f"kernel.bpf_stats_enabled restored to {old}")
    print()
    print(f"{'program':<10} {'traffic':<8} {'hook':<16} {'packets':>10} {'ns/packet':>10} {'Gbit/s':>8}")
    for name, rows, hooks in (("nat64", xl, (("egress", "6to4"), ("ingress", "4to6"))),
                              ("empty", base, (("egress", "tc"), ("ingress", "tc")))):
        for traffic, bps, cost in rows:
            for hook, sec in hooks:
                n, ns = cost.get(hook, (0, float("nan")))
                print(f"{name:<10} {traffic:<8} {hook + ' ' + sec:<16} {n:>10} {ns:>10.1f} {bps / 1e9:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
