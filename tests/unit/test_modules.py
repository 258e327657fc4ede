# SPDX-License-Identifier: LGPL-2.1-or-later
"""gatewayd/netlink.c and gatewayd/nft.c against the real kernel.

Each test gets a network namespace of its own (nat64t-<random>-mod), runs
the modules-tool driver inside it with `ip netns exec`, and deletes it
afterwards: the host's links, routes and ruleset are never touched.

Run:  /usr/bin/python3 -m pytest tests/unit/test_modules.py
(NAT64_BUILD_DIR names the meson build directory, default /work/main/build;
`meson test -C build modules` runs this too.) Needs root.

The addresses the rendered table must contain are computed here from
RFC 6052 §2.2 with the ipaddress module, not taken from the C code.
"""
import ipaddress
import json
import os
import secrets
import select
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("NAT64_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BUILD_DIR = Path(os.environ.get("NAT64_BUILD_DIR", "/work/main/build"))
TOOL = BUILD_DIR / "tests" / "unit" / "modules-tool"
TEMPLATE = SOURCE_DIR / "nft" / "nat64-gateway.nft.in"

TABLE = ("ip6", "nat64_gateway")
TIMEOUT = 30

CONF_BASE = """\
[Translator]
Prefix={prefix}
WANInterface=wan0
{ipv4}
{extra}
[NAT66]
ClientPrefix=2001:db8:d0be:f00d::/64
ClientPrefix=2001:db8:d0be:cafe::/64

[NAT46]
Interface=lan0
IPv4Prefix={nat46}

[Multicast]
Map=ff3e:40:2001:db8:d0be:f00d:d09e:f00d 234.203.0.113
"""


def conf_text(prefix="64:ff9b:1:fffe::/96", ipv4=("198.51.100.1", "198.51.100.7"),
              port_range="32768-65535", nat46="192.168.1.0/24"):
    return CONF_BASE.format(
        prefix=prefix,
        ipv4="\n".join(f"IPv4Address={a}" for a in ipv4),
        extra=f"PortRange={port_range}\n" if port_range else "",
        nat46=nat46)


# ---- RFC 6052 §2.2, independently of bpf/rfc6052.h -------------------------

# Byte positions (in the 16-byte IPv6 address) of the four IPv4 octets; byte
# 8 (bits 64..71, the "u" octet) never carries any.
RFC6052_LAYOUT = {
    32: (4, 5, 6, 7),
    40: (5, 6, 7, 9),
    48: (6, 7, 9, 10),
    56: (7, 9, 10, 11),
    64: (9, 10, 11, 12),
    96: (12, 13, 14, 15),
}


def embed(prefix, v4):
    net = ipaddress.IPv6Network(prefix)
    out = bytearray(net.network_address.packed)
    for octet, pos in zip(ipaddress.IPv4Address(v4).packed, RFC6052_LAYOUT[net.prefixlen]):
        out[pos] = octet
    return ipaddress.IPv6Address(bytes(out))


def embed_network(prefix, v4net):
    """The IPv6 prefix of the addresses that carry v4net under prefix."""
    net4 = ipaddress.IPv4Network(v4net)
    layout = RFC6052_LAYOUT[ipaddress.IPv6Network(prefix).prefixlen]
    last_bit = net4.prefixlen - 1
    length = layout[last_bit // 8] * 8 + last_bit % 8 + 1
    return ipaddress.IPv6Network((embed(prefix, net4.network_address), length))


def test_rfc6052_helpers_match_rfc_examples():
    # RFC 6052 §2.4's table: 192.0.2.33 under 2001:db8::/32 ... /96.
    examples = {
        "2001:db8::/32": "2001:db8:c000:221::",
        "2001:db8:100::/40": "2001:db8:1c0:2:21::",
        "2001:db8:122::/48": "2001:db8:122:c000:2:2100::",
        "2001:db8:122:300::/56": "2001:db8:122:3c0:0:221::",
        "2001:db8:122:344::/64": "2001:db8:122:344:c0:2:2100:0",
        "2001:db8:122:344::/96": "2001:db8:122:344::192.0.2.33",
    }
    for prefix, expected in examples.items():
        assert embed(prefix, "192.0.2.33") == ipaddress.IPv6Address(expected)


# ---- namespace fixture --------------------------------------------------------

class Namespace:
    def __init__(self):
        self.name = f"nat64t-{secrets.token_hex(3)}-mod"
        self._procs = []
        subprocess.run(["ip", "netns", "add", self.name], check=True, timeout=TIMEOUT)
        self.sh("ip", "link", "set", "lo", "up")

    def argv(self, *argv):
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, *argv, check=True):
        r = subprocess.run(self.argv(*argv), capture_output=True, text=True, timeout=TIMEOUT)
        if check and r.returncode != 0:
            raise AssertionError(f"{argv} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        return r

    def sh(self, *argv, **kw):
        return self.run(*argv, **kw).stdout

    def tool(self, *args, check=True):
        return self.run(str(TOOL), *args, check=check)

    def start_tool(self, *args):
        """Starts a watching subcommand; returns once it says "ready"."""
        p = subprocess.Popen(self.argv(str(TOOL), *args), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self._procs.append(p)
        ready, _, _ = select.select([p.stdout], [], [], TIMEOUT)
        assert ready and p.stdout.readline() == "ready\n", p.stderr.read() if p.poll() is not None else ""
        return p

    def destroy(self):
        for p in self._procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        subprocess.run(["ip", "netns", "del", self.name], timeout=TIMEOUT)


@pytest.fixture(scope="session", autouse=True)
def tool_built():
    if not os.access(TOOL, os.X_OK):
        pytest.fail(f"{TOOL} is missing: build first (ninja -C {BUILD_DIR}) or set NAT64_BUILD_DIR")
    if not shutil.which("nft") or not shutil.which("ip"):
        pytest.skip("needs nft and ip")


@pytest.fixture
def ns():
    n = Namespace()
    try:
        yield n
    finally:
        n.destroy()


@pytest.fixture
def conf(tmp_path):
    """conf(**kw) writes a gateway.conf and returns its path."""
    counter = iter(range(1000))

    def write(**kw):
        path = tmp_path / f"gateway{next(counter)}.conf"
        path.write_text(conf_text(**kw))
        return str(path)
    return write


# ---- links --------------------------------------------------------------------

def link(ns, name):
    r = ns.run("ip", "-j", "-d", "link", "show", "dev", name, check=False)
    if r.returncode != 0:
        return None
    (info,) = json.loads(r.stdout)
    return info


def sysctl(ns, key):
    return ns.sh("cat", f"/proc/sys/net/{key}").strip()


def test_translator_link_created_once(ns):
    first = int(ns.tool("link-ensure", "1520").stdout)
    second = int(ns.tool("link-ensure", "1520").stdout)
    assert first == second

    names = [i["ifname"] for i in json.loads(ns.sh("ip", "-j", "link"))]
    assert names.count("nat64tr0") == 1 and names.count("nat64tr1") == 1

    tr0, tr1 = link(ns, "nat64tr0"), link(ns, "nat64tr1")
    assert tr0["ifindex"] == first
    for l in (tr0, tr1):
        assert l["linkinfo"]["info_kind"] == "veth"
        assert l["mtu"] == 1520
        assert "UP" in l["flags"]
    assert "NOARP" in tr0["flags"] and "NOARP" not in tr1["flags"]
    assert tr0["link"] == "nat64tr1"

    assert sysctl(ns, "ipv6/conf/nat64tr0/disable_ipv6") == "0"
    assert sysctl(ns, "ipv6/conf/nat64tr0/accept_ra") == "0"
    assert sysctl(ns, "ipv6/conf/nat64tr1/disable_ipv6") == "1"
    # addr_gen_mode none before the first up: not even a link-local address.
    assert ns.sh("ip", "-6", "addr", "show", "dev", "nat64tr0").strip() == ""

    # A new MTU is applied to the pair it finds, without re-creating it.
    assert int(ns.tool("link-ensure", "1400").stdout) == first
    assert link(ns, "nat64tr0")["mtu"] == 1400 and link(ns, "nat64tr1")["mtu"] == 1400

    info = ns.tool("link-info", "nat64tr0").stdout.split()
    assert info == ["ifindex", str(first), "mtu", "1400", "mac", tr0["address"]]

    ns.tool("link-delete")
    assert link(ns, "nat64tr0") is None and link(ns, "nat64tr1") is None
    ns.tool("link-delete")      # absent: nothing to do, no error


def test_translator_link_lost_peer_is_recreated(ns):
    first = int(ns.tool("link-ensure", "1500").stdout)
    ns.sh("ip", "link", "set", "nat64tr1", "name", "renamed0")

    second = int(ns.tool("link-ensure", "1500").stdout)
    assert second != first
    assert link(ns, "nat64tr0")["link"] == "nat64tr1"
    assert link(ns, "renamed0") is None     # went with its old peer


def test_translator_link_name_taken_by_foreign_link(ns):
    ns.sh("ip", "link", "add", "nat64tr0", "type", "bridge")
    r = ns.tool("link-ensure", "1500", check=False)
    assert r.returncode == 1 and "File exists" in r.stderr
    r = ns.tool("link-delete", check=False)
    assert r.returncode == 1
    assert link(ns, "nat64tr0")["linkinfo"]["info_kind"] == "bridge"


def test_link_lookup_errors(ns):
    r = ns.tool("link-info", "nosuchlink", check=False)
    assert r.returncode == 1 and "No such device" in r.stderr


def test_link_monitor_reports_events(ns):
    p = ns.start_tool("link-monitor", "x0", "10000")
    ns.sh("ip", "link", "add", "x0", "type", "bridge")
    ns.sh("ip", "link", "set", "x0", "up")
    ns.sh("ip", "link", "del", "x0")
    out, err = p.communicate(timeout=TIMEOUT)
    assert p.returncode == 0, err
    lines = out.splitlines()
    assert lines[0] == "new x0 down"
    assert "new x0 up" in lines
    assert lines[-1].startswith("del x0 ")


# ---- routes -------------------------------------------------------------------

def routes(ns, family, proto=None):
    argv = ["ip", family, "route", "show", "table", "all"]
    if proto:
        argv += ["proto", proto]
    return [l for l in ns.sh(*argv).splitlines() if l.strip()]


def test_routes_carry_our_protocol_and_flush_only_ours(ns):
    ns.tool("link-ensure", "1500")
    ns.sh("ip", "addr", "add", "10.9.9.1/24", "dev", "nat64tr0")

    ns.tool("route-add", "64:ff9b:1:fffe::/96", "nat64tr0")
    ns.tool("route-add", "64:ff9b:1:fffe::/96", "nat64tr0")     # replace: no error, no copy
    ns.tool("route-add", "2001:db8:64::/64", "nat64tr0")
    ours = routes(ns, "-6", "64")
    assert len(ours) == 2
    assert any(r.startswith("64:ff9b:1:fffe::/96 dev nat64tr0") for r in ours)

    # Foreign routes: another protocol, and a proto 64 route of another family
    # and table, which flush must find too (it is "ours" by the protocol).
    ns.sh("ip", "-6", "route", "add", "2001:db8:7::/48", "dev", "nat64tr0", "proto", "static")
    ns.sh("ip", "-6", "route", "add", "2001:db8:8::/48", "dev", "nat64tr0", "proto", "64", "table", "100")
    ns.sh("ip", "-4", "route", "add", "10.10.0.0/16", "via", "10.9.9.2", "proto", "64", "table", "200")
    ns.sh("ip", "-4", "route", "add", "10.11.0.0/16", "via", "10.9.9.2", "proto", "static")

    # Deleting only ever matches our protocol.
    r = ns.tool("route-del", "2001:db8:7::/48", "nat64tr0", check=False)
    assert r.returncode == 1 and "No such process" in r.stderr
    ns.tool("route-del", "2001:db8:64::/64", "nat64tr0")
    assert len(routes(ns, "-6", "64")) == 2     # the /96 and table 100's

    before6 = [r for r in routes(ns, "-6") if "proto 64" not in r]
    before4 = [r for r in routes(ns, "-4") if "proto 64" not in r]
    ns.tool("routes-flush")
    assert routes(ns, "-6", "64") == [] and routes(ns, "-4", "64") == []
    assert routes(ns, "-6") == before6 and routes(ns, "-4") == before4
    assert any(r.startswith("2001:db8:7::/48") for r in before6)
    assert any(r.startswith("10.11.0.0/16") for r in before4)

    ns.tool("routes-flush")     # nothing left: still fine


# ---- nftables: rendering --------------------------------------------------------

def render(ns, conf_path, template=TEMPLATE):
    return ns.tool("nft-render", conf_path, str(template)).stdout


def snat_map(prefix, ipv4):
    return ", ".join(f"{i} : {embed(prefix, a)}" for i, a in enumerate(ipv4))


@pytest.mark.parametrize("prefix,nat46", [
    ("64:ff9b:1:fffe::/96", "192.168.1.0/24"),
    ("2001:db8:122:344::/64", "192.168.1.0/24"),
    ("2001:db8:100::/40", "10.0.0.0/8"),
    ("2001:db8:100::/40", "192.168.1.128/25"),     # last octet after the u octet
    ("2001:db8::/32", "192.168.0.0/16"),
])
def test_render_computes_addresses(ns, conf, tmp_path, prefix, nat46):
    ipv4 = ("198.51.100.1", "198.51.100.7")
    text = render(ns, conf(prefix=prefix, ipv4=ipv4, nat46=nat46))

    pool = [str(embed(prefix, a)) for a in ipv4]
    client46 = embed_network(prefix, nat46)
    group = embed(prefix, "234.203.0.113")

    assert f"snat ip6 to jhash ip6 saddr mod 2 map {{ {snat_map(prefix, ipv4)} }} : 32768-65535" in text
    assert f"elements = {{ {', '.join(pool)} }}" in text
    assert f"2001:db8:d0be:cafe::/64, {client46} }}" in text
    assert f"ff3e:40:2001:db8:d0be:f00d:d09e:f00d : {group} }}" in text
    # The port range is kept from the host's own answers (see the template),
    # in a table of its own: NAT66 stays ip6 only.
    assert "table ip nat64_gateway {" in text
    assert (f'iifname "wan0" ip daddr {{ {", ".join(ipv4)} }} meta l4proto {{ tcp, udp }} '
            f'th dport 32768-65535 counter name "unclaimed" drop') in text
    # Template comments and placeholders are gone.
    assert not any(l.lstrip().startswith("#") for l in text.splitlines())
    assert "@?" not in text and "@!" not in text and "@POOL" not in text

    # And the kernel takes it.
    path = tmp_path / "rendered.nft"
    path.write_text(text)
    ns.sh("nft", "-c", "-f", str(path))


def test_render_without_port_range_maps_every_protocol(ns, conf):
    prefix, ipv4 = "64:ff9b:1:fffe::/96", ("203.0.113.9",)
    text = render(ns, conf(ipv4=ipv4, port_range=None))
    rule = f"ip6 saddr @clients ip6 daddr @prefixes snat ip6 to jhash ip6 saddr mod 1 map {{ {snat_map(prefix, ipv4)} }}\n"
    assert rule in text
    assert "meta l4proto" not in text
    assert "32768" not in text
    assert "port_range_guard" not in text     # no IPv4 hook without PortRange=


def test_render_rejects_unknown_placeholder(ns, conf, tmp_path):
    bad = tmp_path / "bad.nft.in"
    bad.write_text(TEMPLATE.read_text().replace("@POOL_SIZE@", "@POOL_COUNT@", 1))
    r = ns.tool("nft-render", conf(), str(bad), check=False)
    assert r.returncode == 1 and "Invalid argument" in r.stderr


# ---- nftables: applying -----------------------------------------------------------

FOREIGN = """\
table inet foreign {
	chain input {
		type filter hook input priority filter; policy accept;
		counter
	}
}
table inet nat64_gateway {
	chain output {
		type filter hook output priority filter; policy accept;
	}
}
"""


def load_foreign(ns, tmp_path):
    path = tmp_path / "foreign.nft"
    path.write_text(FOREIGN)
    ns.sh("nft", "-f", str(path))
    return foreign_tables(ns)


def foreign_tables(ns):
    return (ns.sh("nft", "list", "table", "inet", "foreign"),
            ns.sh("nft", "list", "table", "inet", "nat64_gateway"))


def our_table(ns):
    return ns.sh("nft", "list", "table", *TABLE)


def test_apply_replaces_atomically_and_leaves_foreign_tables(ns, conf, tmp_path):
    foreign = load_foreign(ns, tmp_path)
    assert ns.tool("nft-exists").stdout == "no\n"

    ns.tool("nft-apply", conf(ipv4=("198.51.100.1",)), str(TEMPLATE))
    assert ns.tool("nft-exists").stdout == "yes\n"
    assert "64:ff9b:1:fffe::c633:6401" in ns.sh("nft", "list", "set", *TABLE, "pool")

    # The replacement is one transaction: one new ruleset generation, in
    # which the old table is deleted and the new one added.
    monitor = subprocess.Popen(ns.argv("nft", "monitor"), stdout=subprocess.PIPE, text=True)
    # Should the generation line never come, this ends the blocking reads.
    watchdog = threading.Timer(TIMEOUT, monitor.kill)
    watchdog.start()
    events = []
    try:
        time.sleep(0.5)     # nft monitor subscribes after it starts
        ns.tool("nft-apply", conf(ipv4=("198.51.100.2",)), str(TEMPLATE))
        for line in monitor.stdout:
            events.append(line)
            if line.startswith("# new generation"):
                break
    finally:
        watchdog.cancel()
        monitor.kill()
        monitor.wait()
    assert "delete table ip6 nat64_gateway\n" in events
    assert "add table ip6 nat64_gateway\n" in events
    assert sum(e.startswith("# new generation") for e in events) == 1

    pool = ns.sh("nft", "list", "set", *TABLE, "pool")
    assert "64:ff9b:1:fffe::c633:6402" in pool and "c633:6401" not in pool
    assert foreign_tables(ns) == foreign

    ns.tool("nft-remove")
    assert ns.tool("nft-exists").stdout == "no\n"
    ns.tool("nft-remove")       # absent: nothing to do, no error
    assert foreign_tables(ns) == foreign


@pytest.mark.parametrize("breakage", [
    ("snat ip6 to jhash", "snat ip6 tox jhash"),     # the parser refuses
    ("ip6 daddr @pool", "ip6 daddr @nosuchset"),      # the evaluation refuses
])
def test_invalid_ruleset_leaves_previous_table(ns, conf, tmp_path, breakage):
    ns.tool("nft-apply", conf(), str(TEMPLATE))
    before = our_table(ns)

    bad = tmp_path / "bad.nft.in"
    bad.write_text(TEMPLATE.read_text().replace(*breakage))
    r = ns.tool("nft-apply", conf(ipv4=("192.0.2.1",)), str(bad), check=False)
    assert r.returncode == 1
    assert "Error:" in r.stderr          # nft's own text reaches the caller

    assert our_table(ns) == before


def test_table_loads_and_counts(ns, conf):
    """The applied table is what the template says: chains with their hooks."""
    ns.tool("nft-apply", conf(), str(TEMPLATE))
    table = our_table(ns)
    assert "type nat hook prerouting priority dstnat" in table
    assert "type nat hook postrouting priority srcnat" in table
    assert "type filter hook forward priority filter" in table
    assert 'counter name "unsolicited" drop' in table
    assert 'counter name "foreign" drop' in table
    multicast = ns.sh("nft", "list", "map", *TABLE, "multicast")
    assert "ff3e:40:2001:db8:d0be:f00d:d09e:f00d : 64:ff9b:1:fffe::eacb:71" in multicast


# ---- nftables: monitor --------------------------------------------------------------

def test_monitor_sees_flush_ruleset(ns, conf):
    ns.tool("nft-apply", conf(), str(TEMPLATE))
    p = ns.start_tool("nft-monitor-once", "10000")
    ns.sh("nft", "flush", "ruleset")
    out, err = p.communicate(timeout=TIMEOUT)
    assert p.returncode == 0, err
    assert out == "table-deleted\n"


def test_monitor_sees_delete_table(ns, conf):
    ns.tool("nft-apply", conf(), str(TEMPLATE))
    p = ns.start_tool("nft-monitor-once", "10000")
    ns.sh("nft", "delete", "table", *TABLE)
    out, err = p.communicate(timeout=TIMEOUT)
    assert p.returncode == 0, err


def test_monitor_ignores_other_tables(ns, conf, tmp_path):
    load_foreign(ns, tmp_path)
    ns.tool("nft-apply", conf(), str(TEMPLATE))
    p = ns.start_tool("nft-monitor-once", "1500")
    # Same name in another family, and another table: not ours.
    ns.sh("nft", "delete", "table", "inet", "nat64_gateway")
    ns.sh("nft", "delete", "table", "inet", "foreign")
    out, err = p.communicate(timeout=TIMEOUT)
    assert p.returncode == 1 and out == "", out + err
    assert ns.tool("nft-exists").stdout == "yes\n"


def test_tables_turn_no_ipv4_conntrack_on(ns, conf):
    """NAT66 is IPv6 only: with our tables (PortRange= guard included) a fresh
    namespace tracks no IPv4 flow, while IPv6 flows are tracked."""
    ns.tool("nft-apply", conf(), str(TEMPLATE))
    assert "table ip nat64_gateway" in ns.sh("nft", "list", "tables")
    ns.sh("ip", "link", "set", "lo", "up")
    ns.sh("ping", "-c", "1", "-W", "1", "127.0.0.1")
    ns.sh("ping", "-6", "-c", "1", "-W", "1", "::1")
    v4 = ns.run("conntrack", "-L", "-f", "ipv4", check=False)
    v6 = ns.run("conntrack", "-L", "-f", "ipv6", check=False)
    assert "icmp" not in v4.stdout, v4.stdout
    assert "ipv6-icmp" in v6.stdout or "icmpv6" in v6.stdout, v6.stdout
