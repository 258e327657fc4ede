# SPDX-License-Identifier: LGPL-2.1-or-later
"""The reference test topology of PRODUCT.md, in network namespaces.

    [lan6] eth0 2001:db8:d0be:f00d::2/64 (IPv6 only) --+
    [lan4] eth0 192.168.1.2/24 (IPv4 only)            --+-- lan0 bridge in gw:
                                                           2001:db8:d0be:f00d::1/64,
                                                           192.168.1.1/24
    [gw]   wan0 198.51.100.1/24, default via 198.51.100.2
       |
    [inet] eth0 198.51.100.2/24, lo 203.0.113.1/32 (IPv4 only)

Namespace names are unique per run (nat64t-<random>-<role>); every link is
created inside them, so nothing of the host is touched. destroy() deletes
the namespaces and kills only processes this object started.
"""

import json
import os
import secrets
import select
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

LAN6_ADDR = "2001:db8:d0be:f00d::2"
LAN6_ADDR2 = "2001:db8:d0be:f00d::3"
GW_LAN6_ADDR = "2001:db8:d0be:f00d::1"
LAN4_ADDR = "192.168.1.2"
GW_LAN4_ADDR = "192.168.1.1"
GW_WAN_ADDR = "198.51.100.1"
INET_WAN_ADDR = "198.51.100.2"
INET_ADDR = "203.0.113.1"
NAT64_PREFIX = "64:ff9b:1:fffe::"
INET_ADDR6 = NAT64_PREFIX + INET_ADDR
MCAST_GROUP6 = "ff3e:40:2001:db8:d0be:f00d:d09e:f00d"
MCAST_GROUP4 = "234.203.0.113"

ROLES = ("lan6", "lan4", "gw", "inet")

# The daemon's configuration for this topology (PRODUCT.md's example).
GATEWAY_CONF = f"""\
[Translator]
Prefix={NAT64_PREFIX}/96
WANInterface=wan0
IPv4Address={GW_WAN_ADDR}
PortRange=32768-65535

[NAT66]
ClientPrefix=2001:db8:d0be:f00d::/64

[NAT46]
Interface=lan0
IPv4Prefix=192.168.1.0/24

[Multicast]
Map={MCAST_GROUP6} {MCAST_GROUP4}
"""

# NAT64_TEST_FASTPATH=1: every daemon test on this topology runs with the
# fast path on (tests/fastpath; the suite must pass either way).
if os.environ.get("NAT64_TEST_FASTPATH") == "1":
    GATEWAY_CONF = GATEWAY_CONF.replace("ClientPrefix=2001:db8:d0be:f00d::/64\n",
                                        "ClientPrefix=2001:db8:d0be:f00d::/64\nInterface=lan0\nFastPath=yes\n")


class Topology:
    def __init__(self, name=None):
        self.name = name or f"nat64t-{secrets.token_hex(3)}"
        self.ns = {role: f"{self.name}-{role}" for role in ROLES}
        self._procs = []
        self.created = False

    # -- running things inside ---------------------------------------------
    def cmd(self, role, *argv):
        return ["ip", "netns", "exec", self.ns[role], *argv]

    def run(self, role, *argv, check=True, timeout=60, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        r = subprocess.run(self.cmd(role, *argv), check=False, timeout=timeout, **kw)
        if check and r.returncode != 0:
            raise subprocess.CalledProcessError(r.returncode, r.args, r.stdout, r.stderr)
        return r

    def popen(self, role, *argv, **kw):
        """Starts a process in a namespace; destroy() kills it by PID."""
        p = subprocess.Popen(self.cmd(role, *argv), **kw)
        self._procs.append(p)
        return p

    def ip(self, role, *args, **kw):
        return self.run(role, "ip", *args, **kw)

    def sysctl(self, role, key, value):
        self.run(role, "sysctl", "-qw", f"{key}={value}")

    # -- building ----------------------------------------------------------
    def create(self, offload=True):
        for role in ROLES:
            subprocess.run(["ip", "netns", "add", self.ns[role]], check=True)
        self.created = True
        for role in ROLES:
            self.ip(role, "link", "set", "lo", "up")
            # No duplicate address detection: addresses usable at once.
            self.sysctl(role, "net.ipv6.conf.all.accept_dad", 0)
            self.sysctl(role, "net.ipv6.conf.default.accept_dad", 0)
        for role in ("lan4", "inet"):
            self.sysctl(role, "net.ipv6.conf.all.disable_ipv6", 1)
            self.sysctl(role, "net.ipv6.conf.default.disable_ipv6", 1)
            self.sysctl(role, "net.ipv6.conf.lo.disable_ipv6", 1)

        # A host with br_netfilter loaded (Docker loads it) would hand the
        # LAN bridge's frames to netfilter at the bridge: conntrack would see
        # them before the gateway does, and a DNAT there marks a frame for
        # the host. A router without it, as a fresh Debian, does neither.
        if (Path("/proc/sys/net/bridge") / "bridge-nf-call-ip6tables").exists():
            for family in ("ip6tables", "iptables", "arptables"):
                self.sysctl("gw", f"net.bridge.bridge-nf-call-{family}", 0)
        self.ip("gw", "link", "add", "lan0", "type", "bridge")
        for client in ("lan6", "lan4"):
            port = f"p{client}"
            self.ip("gw", "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", self.ns[client])
            self.ip("gw", "link", "set", port, "master", "lan0", "up")
            self.ip(client, "link", "set", "eth0", "up")
        self.ip("gw", "addr", "add", f"{GW_LAN6_ADDR}/64", "dev", "lan0", "nodad")
        self.ip("gw", "addr", "add", f"{GW_LAN4_ADDR}/24", "dev", "lan0")
        self.ip("gw", "link", "set", "lan0", "up")

        self.ip("lan6", "addr", "add", f"{LAN6_ADDR}/64", "dev", "eth0", "nodad")
        self.ip("lan6", "route", "add", "default", "via", GW_LAN6_ADDR)
        self.ip("lan4", "addr", "add", f"{LAN4_ADDR}/24", "dev", "eth0")
        self.ip("lan4", "route", "add", "default", "via", GW_LAN4_ADDR)

        self.create_wan()
        self.ip("inet", "addr", "add", f"{INET_ADDR}/32", "dev", "lo")

        # The kernel's own ephemeral ports stay out of PortRange= (see the man page).
        self.sysctl("gw", "net.ipv4.ip_local_port_range", "10000 32767")

        if not offload:
            self.set_offload(False)
        return self

    def create_wan(self, mtu=None):
        """(Re)creates wan0 <-> inet eth0 with its addresses and routes."""
        self.ip("gw", "link", "add", "wan0", "type", "veth", "peer", "name", "eth0", "netns", self.ns["inet"])
        if mtu:
            self.ip("gw", "link", "set", "wan0", "mtu", str(mtu))
            self.ip("inet", "link", "set", "eth0", "mtu", str(mtu))
        self.ip("gw", "addr", "add", f"{GW_WAN_ADDR}/24", "dev", "wan0")
        self.ip("gw", "link", "set", "wan0", "up")
        self.ip("inet", "addr", "add", f"{INET_WAN_ADDR}/24", "dev", "eth0")
        self.ip("inet", "link", "set", "eth0", "up")
        self.ip("gw", "route", "replace", "default", "via", INET_WAN_ADDR)

    def delete_wan(self):
        self.ip("gw", "link", "del", "wan0")

    def set_wan_mtu(self, mtu):
        self.ip("gw", "link", "set", "wan0", "mtu", str(mtu))
        self.ip("inet", "link", "set", "eth0", "mtu", str(mtu))

    def set_offload(self, on):
        """Checksum offload on the endpoints: off exposes checksum bugs (PLATFORM.md)."""
        state = "on" if on else "off"
        for role in ("lan6", "lan4", "inet"):
            self.run(role, "ethtool", "-K", "eth0", "tx", state, "rx", state, check=False)

    # -- tearing down -----------------------------------------------------
    def kill_started(self):
        for p in self._procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        self._procs = []

    def destroy(self):
        self.kill_started()
        if not self.created:
            return
        for role in ROLES:
            subprocess.run(["ip", "netns", "del", self.ns[role]], capture_output=True)
        self.created = False

    def __enter__(self):
        return self.create()

    def __exit__(self, *exc):
        self.destroy()


def wait_for(predicate, timeout=5.0, interval=0.05, what="condition"):
    """Polls predicate() until it returns something true; returns that."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(interval)


def require_root():
    return os.geteuid() == 0


@contextmanager
def on_one_cpu():
    """This process and what it starts on one CPU, and so every packet they
    send between veth namespaces (the sender's softirq): the translator's
    per-CPU caches then see a flow's packets, or a tool's frames, in one slot."""
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, cpus)


# -- traffic between the namespaces (tests/lib/traffic.py does the work) ------
TRAFFIC = Path(__file__).with_name("traffic.py")
# The system python: the tests' python may be another one without the modules.
PYTHON = "/usr/bin/python3"


def start_server(topo, role, *args, timeout=10.0):
    """Starts a traffic.py server in role's namespace; returns once it listens."""
    p = topo.popen(role, PYTHON, str(TRAFFIC), *args,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([p.stdout], [], [], timeout)
    line = p.stdout.readline() if ready else ""
    if line.strip() != "ready":
        p.kill()
        raise RuntimeError(f"server {args} did not start: {line!r} {p.stderr.read() if p.poll() is not None else ''}")
    return p


def finish_server(p, timeout=60.0):
    out, err = p.communicate(timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"server failed ({p.returncode}): {err}")
    return json.loads(out.strip().splitlines()[-1])


def run_client(topo, role, *args, timeout=90.0):
    r = topo.run(role, PYTHON, str(TRAFFIC), *args, check=False, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"client {args} failed ({r.returncode}): {r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def tcp_transfer(topo, nbytes, upload=True, client="lan6", server="inet", host=INET_ADDR6,
                 port=5001, bind=None, sport=0, timeout=90.0):
    """Moves nbytes over TCP; returns (client result, server result) dicts."""
    srv = start_server(topo, server, "tcp-server", str(port), "sink" if upload else "source", str(nbytes))
    try:
        extra = (["--bind", bind] if bind else []) + (["--sport", str(sport)] if sport else [])
        cli = run_client(topo, client, "tcp-client", host, str(port), "send" if upload else "recv",
                         str(nbytes), *extra, timeout=timeout)
        return cli, finish_server(srv, timeout=timeout)
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()


def udp_exchange(topo, count=5, size=64, client="lan6", server="inet", host=INET_ADDR6, port=5002,
                 bind=None, sport=0, server_bind=INET_ADDR):
    """count datagrams echoed back; returns (client result, server result or None)."""
    srv = start_server(topo, server, "udp-echo", str(port), str(count), server_bind)
    try:
        extra = (["--bind", bind] if bind else []) + (["--sport", str(sport)] if sport else [])
        cli = run_client(topo, client, "udp-client", host, str(port), str(count), str(size), *extra)
        if cli["echoed"] != count:
            return cli, None
        return cli, finish_server(srv, timeout=10)
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()


def ping(topo, role, addr, count=3, size=56, timeout=20):
    """ping (or ping -6) from role; returns the CompletedProcess."""
    return topo.run(role, "ping", "-n", "-c", str(count), "-i", "0.2", "-W", "2", "-s", str(size), addr,
                    check=False, timeout=timeout)


def start_udp_listener(topo, role, bind, port, count, seconds, join=None):
    """traffic.py udp-listen: up to count datagrams within seconds; join=(group, ifaddr or ifname)."""
    return start_server(topo, role, "udp-listen", bind, str(port), str(count), str(seconds),
                        *(["--join", *join] if join else []))


def start_frame_capture(topo, role, ifname, udp_port, count, seconds):
    """traffic.py frame-capture: IPv4/UDP frames to udp_port on ifname (MACs, TTL, payload)."""
    return start_server(topo, role, "frame-capture", ifname, str(udp_port), str(count), str(seconds))


def udp_send(topo, role, host, port, data, count=1, hops=None, ifname=None, bind=None, sport=0,
             broadcast=False):
    """traffic.py udp-send: count datagrams of data (bytes) from role."""
    extra = []
    for opt, val in (("--hops", hops), ("--ifname", ifname), ("--bind", bind), ("--sport", sport or None)):
        if val is not None:
            extra += [opt, str(val)]
    if broadcast:
        extra.append("--broadcast")
    return run_client(topo, role, "udp-send", host, str(port), str(count), data.hex(), *extra)


def neighbours(topo, role, *selector):
    """`ip -j neigh show ...` in role as a list of dicts."""
    return json.loads(topo.ip(role, "-j", "neigh", "show", *selector).stdout or "[]")


def link_mac(topo, role, dev):
    return json.loads(topo.ip(role, "-j", "link", "show", dev).stdout)[0]["address"]
