# SPDX-License-Identifier: LGPL-2.1-or-later
"""Two nat64-gateway nodes with keepalived and conntrackd, in namespaces.

Active/backup (docs/HA.md, "Address plan"):

    [lan6] 2001:db8:d0be:f00d::2 --+                     +-- [gwa] lan0 ::a  .11  (VIP ::1, 192.168.1.1)
    [lan4] 192.168.1.2           --+-- [lansw] bridge ---+-- [gwb] lan0 ::b  .12
    [gwa] wan0 198.51.100.11 --+                         gwa ha0 10.99.0.1 -- gwb ha0 10.99.0.2 (conntrackd)
    [gwb] wan0 198.51.100.12 --+-- [wansw] bridge -- [inet] 198.51.100.2, 203.0.113.1
                 (VIP 198.51.100.1)                  gwa vr0 10.98.0.1 -- gwb vr0 10.98.0.2 (VRRP)

Active/active: lan6 sits behind [lanrtr], whose ECMP route (L4 hash) to
the prefix goes via 2001:db8:d0be:1::1 (gwa's VIP) and ::2 (gwb's); gwb's
IPv4Address is 198.51.100.21, and each node is the VRRP backup of the other.

Every process (nat64-gatewayd, keepalived, conntrackd) runs in its node's
namespace with its own files in the node's directory; destroy() kills them
by PID and deletes the namespaces (unique per run: nat64h-<hex>-<role>).
"""

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))

import gatewayd as gw_lib  # noqa: E402
import topology as T  # noqa: E402
from privbus import PrivateBus  # noqa: E402

ROOT = HERE.parents[1]
POLICY = ROOT / "units" / "org.nat64.Gateway1.conf"
HA_NOTIFY = ROOT / "etc" / "ha" / "ha-notify"
HATRAFFIC = HERE / "hatraffic.py"
EXAMPLES = ROOT / "etc" / "ha"

PREFIX = T.NAT64_PREFIX
INET_ADDR6 = T.INET_ADDR6
VIP4 = "198.51.100.1"           # IPv4Address= of the pair (and gwa's in active/active)
VIP4_B = "198.51.100.21"        # gwb's in active/active
LAN_VIP6 = "2001:db8:d0be:f00d::1"
LAN_VIP4 = "192.168.1.1"
TRANSIT_VIP6 = {"gwa": "2001:db8:d0be:1::1", "gwb": "2001:db8:d0be:1::2"}
LANRTR_TRANSIT = "2001:db8:d0be:1::100"
OWN = {
    "gwa": {"lan6": "2001:db8:d0be:f00d::a", "lan4": "192.168.1.11", "wan": "198.51.100.11",
            "ha": "10.99.0.1", "vr": "10.98.0.1", "transit": "2001:db8:d0be:1::a"},
    "gwb": {"lan6": "2001:db8:d0be:f00d::b", "lan4": "192.168.1.12", "wan": "198.51.100.12",
            "ha": "10.99.0.2", "vr": "10.98.0.2", "transit": "2001:db8:d0be:1::b"},
}
PEER = {"gwa": "gwb", "gwb": "gwa"}

# VRRP: 100 ms adverts (VRRPv3), so the backup takes over ~0.35 s after the last one.
ADVERT_INT = "0.1"
PREEMPT_DELAY = 2           # s: a returning gwa waits for conntrackd's resync before taking over


def gateway_conf(active_active):
    addrs = f"IPv4Address={VIP4}\n" + (f"IPv4Address={VIP4_B}\n" if active_active else "")
    nat46 = "" if active_active else "\n[NAT46]\nInterface=lan0\nIPv4Prefix=192.168.1.0/24\n"
    # NAT64_TEST_FASTPATH=1: with the fast path on, as tests/lib/topology.py does it
    fast = "Interface=lan0\nFastPath=yes\n" if os.environ.get("NAT64_TEST_FASTPATH") == "1" else ""
    return (f"[Translator]\nPrefix={PREFIX}/96\nWANInterface=wan0\n{addrs}PortRange=32768-65535\n\n"
            f"[NAT66]\nClientPrefix=2001:db8:d0be:f00d::/64\n{fast}{nat46}\n"
            f"[HA]\nConntrackdSocket=@SOCKET@\n")


def swap(text, a_addr, mine, peer):
    """The example is gwa's: its own address of a link is a_addr, the peer's the other end."""
    a_peer = a_addr[:-1] + ("2" if a_addr.endswith("1") else "1")
    return text.replace(a_addr, "@MINE@").replace(a_peer, peer).replace("@MINE@", mine)


class HATopology(T.Topology):
    def __init__(self, active_active=False):
        self.active_active = active_active
        roles = ["lan6", "lansw", "gwa", "gwb", "wansw", "inet"] + (["lanrtr"] if active_active else ["lan4"])
        super().__init__(name=f"nat64h-{secrets.token_hex(3)}")
        self.ns = {role: f"{self.name}-{role}" for role in roles}

    def create(self):
        for ns in self.ns.values():
            subprocess.run(["ip", "netns", "add", ns], check=True)
        self.created = True
        for role in self.ns:
            self.ip(role, "link", "set", "lo", "up")
            self.sysctl(role, "net.ipv6.conf.all.accept_dad", 0)
            self.sysctl(role, "net.ipv6.conf.default.accept_dad", 0)
        for role in ("lan4", "inet", "lansw", "wansw"):
            if role in self.ns:
                self.sysctl(role, "net.ipv6.conf.all.disable_ipv6", 1)
                self.sysctl(role, "net.ipv6.conf.default.disable_ipv6", 1)

        for sw in ("lansw", "wansw"):
            self.ip(sw, "link", "add", "br0", "type", "bridge")
            self.ip(sw, "link", "set", "br0", "up")

        def port(sw, peer_role, peer_if, pname):
            self.ip(sw, "link", "add", pname, "type", "veth", "peer", "name", peer_if, "netns", self.ns[peer_role])
            self.ip(sw, "link", "set", pname, "master", "br0", "up")
            self.ip(peer_role, "link", "set", peer_if, "up")

        aa = self.active_active
        for gw in ("gwa", "gwb"):
            port("lansw", gw, "lan0", f"p{gw}")
            port("wansw", gw, "wan0", f"p{gw}")
            o = OWN[gw]
            if aa:
                self.ip(gw, "addr", "add", f"{o['transit']}/64", "dev", "lan0", "nodad")
                self.ip(gw, "route", "add", "2001:db8:d0be:f00d::/64", "via", LANRTR_TRANSIT)
            else:
                self.ip(gw, "addr", "add", f"{o['lan6']}/64", "dev", "lan0", "nodad")
                self.ip(gw, "addr", "add", f"{o['lan4']}/24", "dev", "lan0")
            self.ip(gw, "addr", "add", f"{o['wan']}/24", "dev", "wan0")
            self.ip(gw, "route", "add", "default", "via", T.INET_WAN_ADDR)
            self.sysctl(gw, "net.ipv4.ip_local_port_range", "10000 32767")
            # keepalived's gratuitous ARPs must update inet's neighbour entries
            self.sysctl(gw, "net.ipv4.conf.all.arp_notify", 1)
        # the sync link and the VRRP link: point to point between the nodes
        for link, key in (("ha0", "ha"), ("vr0", "vr")):
            self.ip("gwa", "link", "add", link, "type", "veth", "peer", "name", link, "netns", self.ns["gwb"])
            for gw in ("gwa", "gwb"):
                self.ip(gw, "addr", "add", f"{OWN[gw][key]}/30", "dev", link)
                self.ip(gw, "link", "set", link, "up")

        port("wansw", "inet", "eth0", "pinet")
        self.ip("inet", "addr", "add", f"{T.INET_WAN_ADDR}/24", "dev", "eth0")
        self.ip("inet", "addr", "add", f"{T.INET_ADDR}/32", "dev", "lo")
        # accept gratuitous ARP for addresses it has no entry of yet too
        self.sysctl("inet", "net.ipv4.conf.all.arp_accept", 1)
        self.sysctl("inet", "net.ipv4.conf.eth0.arp_accept", 1)

        if aa:
            port("lansw", "lanrtr", "eth1", "plan")
            self.ip("lanrtr", "addr", "add", f"{LANRTR_TRANSIT}/64", "dev", "eth1", "nodad")
            self.ip("lanrtr", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", self.ns["lan6"])
            self.ip("lanrtr", "addr", "add", "2001:db8:d0be:f00d::1/64", "dev", "eth0", "nodad")
            self.ip("lanrtr", "link", "set", "eth0", "up")
            self.ip("lan6", "link", "set", "eth0", "up")
            self.sysctl("lanrtr", "net.ipv6.conf.all.forwarding", 1)
            self.sysctl("lanrtr", "net.ipv6.fib_multipath_hash_policy", 1)     # L4: ports too
            self.ip("lanrtr", "-6", "route", "add", f"{PREFIX}/96",
                    "nexthop", "via", TRANSIT_VIP6["gwa"], "dev", "eth1",
                    "nexthop", "via", TRANSIT_VIP6["gwb"], "dev", "eth1")
            self.ip("lan6", "addr", "add", f"{T.LAN6_ADDR}/64", "dev", "eth0", "nodad")
            self.ip("lan6", "route", "add", "default", "via", "2001:db8:d0be:f00d::1")
        else:
            port("lansw", "lan6", "eth0", "plan6")
            port("lansw", "lan4", "eth0", "plan4")
            self.ip("lan6", "addr", "add", f"{T.LAN6_ADDR}/64", "dev", "eth0", "nodad")
            self.ip("lan6", "addr", "add", f"{T.LAN6_ADDR2}/64", "dev", "eth0", "nodad")
            self.ip("lan6", "route", "add", "default", "via", LAN_VIP6)
            self.ip("lan4", "addr", "add", f"{T.LAN4_ADDR}/24", "dev", "eth0")
            self.ip("lan4", "route", "add", "default", "via", LAN_VIP4)
        return self

    def destroy(self):
        self.kill_started()
        if not self.created:
            return
        for ns in self.ns.values():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.created = False

    def mac(self, role, dev):
        return T.link_mac(self, role, dev)


class _View:
    """A Topology as Gatewayd sees it: its "gw" is one node."""

    def __init__(self, topo, role):
        self.topo, self.role = topo, role

    def popen(self, _role, *argv, **kw):
        return self.topo.popen(self.role, *argv, **kw)


class Node:
    """One gateway: conntrackd, nat64-gatewayd (own private bus), keepalived."""

    def __init__(self, topo, role, workdir):
        self.topo, self.role = topo, role
        self.dir = Path(workdir) / role
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.ctd_conf = self.dir / "conntrackd.conf"
        self.ctd_sock = self.dir / "conntrackd.ctl"
        self.ka_conf = self.dir / "keepalived.conf"
        self.bus = None
        self.gw = None
        self.conntrackd = None
        self.keepalived = None

    # -- configuration -----------------------------------------------------
    def write_configs(self):
        """The shipped examples (etc/ha/), with this node's paths and, on
        gwb, the swaps their comments describe; returns gateway.conf's text."""
        aa = self.topo.active_active
        o, p = OWN[self.role], OWN[PEER[self.role]]
        suffix = "-active-active" if aa else ""
        ctd = (EXAMPLES / f"conntrackd{suffix}.conf").read_text()
        ctd = ctd.replace("Syslog on", f"Syslog off\n\tLogFile {self.dir}/conntrackd.log")
        ctd = ctd.replace("/var/lock/conntrack.lock", str(self.dir / "conntrackd.lock"))
        ctd = ctd.replace("/var/run/conntrackd.ctl", str(self.ctd_sock))
        ctd = swap(ctd, OWN["gwa"]["ha"], o["ha"], p["ha"])
        self.ctd_conf.write_text(ctd)

        ka = (EXAMPLES / f"keepalived{suffix}.conf").read_text()
        notify = (f"{HA_NOTIFY} -C {self.ctd_conf} --address {self.bus.address} "
                  f"--nat64ctl {gw_lib.build_dir() / 'ctl' / 'nat64ctl'}")
        ka = ka.replace("/usr/lib/nat64-gateway/ha-notify", str(HA_NOTIFY))
        ka = ka.replace(f"{HA_NOTIFY} --active-active -C /etc/conntrackd/conntrackd.conf",
                        f"{notify} --active-active")
        ka = ka.replace(f"{HA_NOTIFY} -C /etc/conntrackd/conntrackd.conf", notify)
        # the checkout's directories need not be root's alone, as script security wants
        ka = ka.replace("\tenable_script_security\n", "")
        ka = ka.replace("router_id gw-a", f"router_id {self.role}")
        ka = swap(ka, OWN["gwa"]["vr"], o["vr"], p["vr"])
        if self.role == "gwb":
            ka = ka.replace("priority 150", "priority @HIGH@").replace("priority 100", "priority 150")
            ka = ka.replace("priority @HIGH@", "priority 100")
        self.ka_conf.write_text(ka)
        assert ADVERT_INT in ka and f"preempt_delay {PREEMPT_DELAY}" in ka
        return gateway_conf(aa).replace("@SOCKET@", str(self.ctd_sock))

    # -- life cycle --------------------------------------------------------
    def start(self):
        if not self.bus:
            self.bus = PrivateBus(policy_files=[POLICY]).start()
        conf = self.write_configs()
        self.start_conntrackd()
        self.gw = gw_lib.Gatewayd(_View(self.topo, self.role), self.bus, self.dir / "gatewayd", config_text=conf,
                                  log_level="info")
        self.gw.start()
        self.start_keepalived()

    def start_conntrackd(self):
        for f in (self.ctd_sock, self.dir / "conntrackd.lock"):
            if f.exists():
                f.unlink()
        log = open(self.dir / "conntrackd.out", "ab")
        self.conntrackd = self.topo.popen(self.role, "conntrackd", "-C", str(self.ctd_conf),
                                          stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        T.wait_for(lambda: self.ctd_sock.exists(), timeout=10, what=f"conntrackd socket of {self.role}")

    def start_keepalived(self):
        log = open(self.dir / "keepalived.log", "ab")
        self.keepalived = self.topo.popen(
            self.role, "keepalived", "--dont-fork", "--log-console", "--log-detail", "--vrrp",
            "--use-file", str(self.ka_conf), "--pid", str(self.dir / "keepalived.pid"),
            "--vrrp_pid", str(self.dir / "keepalived_vrrp.pid"),
            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()

    def kill_dead_box(self):
        """The box dies: its links go down at once (nothing leaves it from
        then on), then every process is killed (SIGKILL: no goodbye advert)."""
        self.topo.run(self.role, "sh", "-c", "for l in wan0 lan0 ha0 vr0; do ip link set $l down; done")
        self._kill_vrrp_child()
        for p in (self.keepalived, self.gw.proc if self.gw and self.gw.proc else None, self.conntrackd):
            if p and p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait(timeout=10)
        if self.gw:
            self.gw.proc = None

    def _kill_vrrp_child(self):
        pidfile = self.dir / "keepalived_vrrp.pid"
        try:
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError):
            return
        # only if it is really the VRRP child we started (its command line names our config)
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return
        if str(self.ka_conf).encode() in cmdline:
            os.kill(pid, signal.SIGKILL)
            T.wait_for(lambda: not Path(f"/proc/{pid}").exists(), timeout=5, what="keepalived's VRRP child")

    def reboot(self):
        """Back from the dead: empty conntrack table, no stale addresses, links up, all started again."""
        self.topo.run(self.role, "conntrack", "-F", check=False)
        for dev, addr in ((("wan0", f"{VIP4}/32"), ("wan0", f"{VIP4_B}/32"), ("lan0", f"{LAN_VIP6}/64"),
                           ("lan0", f"{LAN_VIP4}/24"), ("lan0", f"{TRANSIT_VIP6['gwa']}/64"),
                           ("lan0", f"{TRANSIT_VIP6['gwb']}/64"))):
            self.topo.ip(self.role, "addr", "del", addr, "dev", dev, check=False)
        for link in ("wan0", "lan0", "ha0", "vr0"):
            self.topo.ip(self.role, "link", "set", link, "up")
        # a link that went down took its routes with it
        self.topo.ip(self.role, "route", "replace", "default", "via", T.INET_WAN_ADDR)
        if self.topo.active_active:
            self.topo.ip(self.role, "route", "replace", "2001:db8:d0be:f00d::/64", "via", LANRTR_TRANSIT)
        self.start_conntrackd()
        self.gw.start()
        self.start_keepalived()

    def stop(self):
        if self.keepalived and self.keepalived.poll() is None:
            self.keepalived.send_signal(signal.SIGTERM)
            try:
                self.keepalived.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.keepalived.kill()
        self._kill_vrrp_child()
        if self.gw:
            try:
                self.gw.close()
            except Exception as e:      # noqa: BLE001 - teardown goes on
                sys.stderr.write(f"{self.role}: {e}\n")
        if self.conntrackd and self.conntrackd.poll() is None:
            self.conntrackd.send_signal(signal.SIGTERM)
            try:
                self.conntrackd.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.conntrackd.kill()
        if self.bus:
            self.bus.stop()
            self.bus = None

    def dump_logs(self):
        for f in ("gatewayd/gatewayd.log", "keepalived.log", "conntrackd.log", "conntrackd.out"):
            path = self.dir / f
            if path.exists():
                sys.stderr.write(f"--- {self.role} {f} ---\n{path.read_text(errors='replace')[-6000:]}\n")

    # -- looking at it -----------------------------------------------------
    def prop(self, name):
        return json.loads(self.gw.get_property(name).stdout)["data"]

    def role_is(self, want):
        try:
            return self.prop("HARole") == want
        except Exception:       # noqa: BLE001 - not up yet
            return False

    def holds(self, addr):
        r = self.topo.ip(self.role, "-j", "addr", "show", check=False)
        return r.returncode == 0 and any(a.get("local") == addr for link in json.loads(r.stdout or "[]")
                                         for a in link.get("addr_info", []))

    def conntrack(self, *args):
        return self.topo.run(self.role, "conntrack", "-L", "-f", "ipv6", *args, check=False).stdout

    def ctl(self, *args):
        return subprocess.run([str(gw_lib.build_dir() / "ctl" / "nat64ctl"), f"--address={self.bus.address}",
                               "--no-pager", *args], capture_output=True, text=True, timeout=30)

    def sync_statistics(self):
        r = self.gw.call("GetSyncStatistics")
        return dict(json.loads(r.stdout)["data"][0])


def start_pair(topo, workdir):
    nodes = {role: Node(topo, role, workdir) for role in ("gwa", "gwb")}
    for n in nodes.values():
        n.start()
    return nodes


def hatraffic(topo, role, *args):
    return topo.popen(role, T.PYTHON, str(HATRAFFIC), *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                      text=True)


def start_ha_server(topo, role, *args, timeout=15.0):
    """hatraffic.py in role's namespace; returns once it printed "ready"."""
    import select
    p = hatraffic(topo, role, *args)
    ready, _, _ = select.select([p.stdout], [], [], timeout)
    line = p.stdout.readline() if ready else ""
    if line.strip() != "ready":
        p.kill()
        raise RuntimeError(f"hatraffic {args} did not start: {line!r} "
                           f"{p.stderr.read() if p.poll() is not None else ''}")
    return p


def result(p, timeout=120):
    out, err = p.communicate(timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{p.args} failed ({p.returncode}): {err}")
    return json.loads(out.strip().splitlines()[-1])


# -- traffic and what it showed ---------------------------------------------
RATE = 200                      # UDP datagrams per second of the streams
TCP_RATE = 8 * 1024 * 1024      # bytes/s of the TCP transfers (traffic.py --rate)


def wait_master(node, addr=VIP4, timeout=15):
    T.wait_for(lambda: node.role_is("master") and node.holds(addr), timeout=timeout, interval=0.02,
               what=f"{node.role} master holding {addr}")


def switchovers(frames, macs):
    """[(from, to, seconds between the last frame via one and the first via the other)]"""
    out, last = [], None
    for t, mac, *_ in sorted(frames):
        who = macs.get(mac)
        if who is None:
            continue
        if last and who != last[1]:
            out.append((last[1], who, t - last[0]))
        last = (t, who)
    return out


def tcp_reply_dports(text, dport):
    """Ports the server saw (the reply tuple's dport) of conntrack -L lines of TCP to dport."""
    out = []
    for line in text.splitlines():
        f = [w for w in line.split() if "=" in w]
        kv = [tuple(w.split("=", 1)) for w in f]
        dports = [v for k, v in kv if k == "dport"]
        if line.startswith("tcp") and len(dports) == 2 and dports[0] == str(dport):
            out.append(int(dports[1]))
    return out


def start_tcp_client(topo, role, host, port, nbytes, bind):
    return topo.popen(role, T.PYTHON, str(T.TRAFFIC), "tcp-client", host, str(port), "send", str(nbytes),
                      "--bind", bind, "--rate", str(TCP_RATE), stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True)
