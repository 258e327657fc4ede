# SPDX-License-Identifier: LGPL-2.1-or-later
"""The seed recipe (SIIT on one veth) in two fresh network namespaces.

    a: za 02:00:00:00:00:0a, 64:ff9b:1:fffe::c0a8:201/96   (IPv6 only)
    b: zb 02:00:00:00:00:0b, 192.168.2.2/24                  (IPv4 only)
    za: clsact; ingress 4to6, egress 6to4 (cls_bpf direct-action)

za's IPv4 side address is 192.168.2.1 (= 64:ff9b:1:fffe::c0a8:201), zb is
reached as 64:ff9b:1:fffe::c0a8:202. Static neighbours on both sides,
since neither ARP nor ND can cross the translator. Namespaces are named
nat64s-<random>-a/-b and deleted by destroy(); only PIDs started here are
ever killed.
"""
import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "lib"))

import xlat  # noqa: E402

MAC_A, MAC_B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
A6, B6 = "64:ff9b:1:fffe::c0a8:201", "64:ff9b:1:fffe::c0a8:202"
A4, B4 = "192.168.2.1", "192.168.2.2"
TRAFFIC = ROOT / "tests" / "lib" / "traffic.py"
PYTHON = "/usr/bin/python3"


def sh(*cmd, check=True, ns=None, **kw):
    if ns:
        cmd = ("ip", "netns", "exec", ns) + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


class SeedTopology:
    def __init__(self, prefix="nat64s"):
        tag = secrets.token_hex(3)
        self.a = f"{prefix}-{tag}-a"
        self.b = f"{prefix}-{tag}-b"
        self.procs = []

    def create(self):
        sh("ip", "netns", "add", self.a)
        sh("ip", "netns", "add", self.b)
        try:
            for ns in (self.a, self.b):
                sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", self.a, "link", "add", "za", "address", MAC_A, "type", "veth",
               "peer", "name", "zb", "netns", self.b, "address", MAC_B)
            sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=self.b)
            sh("sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", ns=self.b)
            sh("sysctl", "-qw", "net.ipv4.conf.default.rp_filter=0", ns=self.b)
            sh("ip", "-n", self.a, "addr", "add", f"{A6}/96", "dev", "za", "nodad")
            sh("ip", "-n", self.b, "addr", "add", f"{B4}/24", "dev", "zb")
            sh("ip", "-n", self.a, "link", "set", "za", "up")
            sh("ip", "-n", self.b, "link", "set", "zb", "up")
            sh("ip", "-n", self.a, "-6", "neigh", "add", B6, "lladdr", MAC_B, "dev", "za", "nud", "permanent")
            sh("ip", "-n", self.b, "neigh", "add", A4, "lladdr", MAC_A, "dev", "zb", "nud", "permanent")
        except Exception:
            self.destroy()
            raise
        return self

    def attach(self, obj=None, sec_in="4to6", sec_out="6to4"):
        obj = str(obj or xlat.bpf_object("nat64"))
        sh("tc", "qdisc", "replace", "dev", "za", "clsact", ns=self.a)
        sh("tc", "filter", "replace", "dev", "za", "ingress", "bpf", "da", "obj", obj, "sec", sec_in, ns=self.a)
        sh("tc", "filter", "replace", "dev", "za", "egress", "bpf", "da", "obj", obj, "sec", sec_out, ns=self.a)

    def detach(self):
        sh("tc", "qdisc", "del", "dev", "za", "clsact", ns=self.a, check=False)

    def offloads(self, on):
        v = "on" if on else "off"
        sh("ethtool", "-K", "za", "tx", v, "rx", v, ns=self.a)
        sh("ethtool", "-K", "zb", "tx", v, "rx", v, ns=self.b)

    def prog_ids(self):
        """{'ingress': id, 'egress': id} of the filters on za."""
        out = {}
        for hook in ("ingress", "egress"):
            r = sh("tc", "-j", "filter", "show", "dev", "za", hook, ns=self.a)
            for f in json.loads(r.stdout or "[]"):
                opts = f.get("options") or {}
                if "prog" in opts:
                    out[hook] = opts["prog"]["id"]
        return out

    def start(self, ns, *args, cpu=None):
        """A background process in ns (killed by destroy() if still running)."""
        cmd = ["ip", "netns", "exec", ns] + ([] if cpu is None else ["taskset", "-c", str(cpu)]) + list(args)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        return p

    def traffic(self, ns, *args):
        return self.start(ns, PYTHON, str(TRAFFIC), *args)

    def destroy(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        self.procs = []
        for ns in (self.a, self.b):
            sh("ip", "netns", "del", ns, check=False)


def wait_ready(p, timeout=15):
    import select
    r, _, _ = select.select([p.stdout], [], [], timeout)
    if not r:
        raise RuntimeError("server not ready")
    line = p.stdout.readline().strip()
    if line != "ready":
        raise RuntimeError(f"server said {line!r}: {p.stderr.read() if p.poll() is not None else ''}")


def last_json(p, timeout=60):
    out, err = p.communicate(timeout=timeout)
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        raise RuntimeError(f"exit {p.returncode}: {err.strip()[-500:]}")
    return json.loads(lines[-1])
