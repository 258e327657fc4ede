# SPDX-License-Identifier: LGPL-2.1-or-later
"""Load: many concurrent UDP flows through NAT66 and the translator, with echoes.

The reliability issue's load test: 50 000 concurrent UDP flows (5-tuples)
from many client addresses for 60 s, no drops at the translator, stable
memory in the daemon. That run is long-run only (NAT64_LONG_TESTS=1, as
`tools/run-tests --long` sets); a short variant (5 000 flows, 5 s) runs
every time so the code path is exercised in CI.

  lan6: 250 (short run: 50) client addresses (/128, nodad) on eth0, so
        lan6 answers the gateway's neighbour solicitations for them; one
        raw IPv6 socket (IPPROTO_RAW, header included) sends prebuilt
        datagrams from all of them at C speed in the kernel: flow f = (client f % addrs, port SPORT + f // addrs) ->
        <Prefix>::203.0.113.1, port DPORT + f % DPORTS. Every flow sends
        once per round; the rounds are spread evenly over the run, so all
        flows stay alive in conntrack together.
  inet: one process counts datagrams per flow (the payload names the flow),
        remembers which IPv4 source port NAT66 gave each flow, and echoes
        every datagram, which loads 4to6 and conntrack's reply path too.
  lan6: an nft counter in lan6's own input hook counts the echoes that came
        back and drops them (no socket listens there).

Rates: one datagram per flow every 5 s (1 s in the short run), i.e. 10 000
(5 000) datagrams per second each way. On the 2-core development VM, shared
with other jobs, this path reached about 17 000-22 000 per second each way
(the sender's core, which also carries lan6's and gw's forwarding of what
it sends, is the limit), so the schedule has room.

Checks: conntrack in gw holds >= flows NAT66 UDP entries at the peak; every
"drop-" counter of the translator (and the NAT66 drop counters) stayed
put; packets-6to4 grew by exactly the datagrams sent and packets-4to6 by
the echoes; what did not arrive is accounted for by kernel counters outside
the translator (the namespaces' /proc/net/snmp{,6}, link and conntrack
statistics), and without such losses everything arrived; no flow was
re-mapped (its conntrack entry never died); the daemon's VmRSS, sampled
while it also answers GetStatistics(), did not grow. Run with -s to see the
figures.

Environment: NAT64_LOAD_FLOWS, NAT64_LOAD_SECONDS, NAT64_LOAD_INTERVAL
(seconds between two datagrams of one flow) override the long run's shape.
"""

import ipaddress
import json
import os
import re
import select
import subprocess
import time

import pytest

import topology as T

LONG = os.environ.get("NAT64_LONG_TESTS", "") not in ("", "0")

CLIENT_BASE = "2001:db8:d0be:f00d:4c0a::"      # inside ClientPrefix 2001:db8:d0be:f00d::/64
SPORT = 20000           # client ports SPORT.. (outside PortRange=: NAT66 picks the port)
DPORT = 7000            # DPORT .. DPORT+DPORTS-1 at inet
DPORTS = 16             # one reply tuple per (pool port, dport): 16 x 32768 >> flows
MAGIC = b"N64L"
PAYLOAD = 32            # UDP payload bytes (magic, flow id, padding)
# As conntrack and nft print them.
INET6 = str(ipaddress.IPv6Address(T.INET_ADDR6))                    # 64:ff9b:1:fffe::cb00:7101
POOL6 = str(ipaddress.IPv6Address(T.NAT64_PREFIX + T.GW_WAN_ADDR))   # 64:ff9b:1:fffe::c633:6401

# -- the two ends ---------------------------------------------------------------

SENDER = r"""
import json, socket, struct, sys, time
c = json.loads(sys.argv[1])
N, nad, ndp, interval, rounds = c["flows"], c["addrs"], c["dports"], c["interval"], c["rounds"]
dst = socket.inet_pton(socket.AF_INET6, c["dst"])
srcs = [socket.inet_pton(socket.AF_INET6, c["base"] + "%x" % (a + 1)) for a in range(nad)]
magic = c["magic"].encode()
pad = b"\xa5" * (c["payload"] - len(magic) - 4)

def fold(s):
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s

pkts = []
for f in range(N):
    src, sport, dport = srcs[f % nad], c["sport"] + f // nad, c["dport"] + f % ndp
    udp = struct.pack("!HHHH", sport, dport, 8 + c["payload"], 0) + magic + struct.pack("!I", f) + pad
    pseudo = src + dst + struct.pack("!IxxxB", len(udp), 17)
    b = pseudo + udp
    s = 0xffff - fold(sum(struct.unpack("!%dH" % (len(b) // 2), b)))
    udp = udp[:6] + struct.pack("!H", s or 0xffff) + udp[8:]
    pkts.append(struct.pack("!IHBB", 6 << 28, len(udp), 17, 64) + src + dst + udp)

s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)   # IPV6_HDRINCL implied
s.setsockopt(socket.SOL_SOCKET, 32, 8 << 20)                               # SO_SNDBUFFORCE
# A bound source spares the route lookup the source address selection among
# hundreds of addresses (most of the cost otherwise); the header's own source stays.
s.bind((c["lan6"], 0))
sendto, addr = s.sendto, (c["dst"], 0)
print("ready", flush=True)
sys.stdin.readline()

chunk = c["chunk"]
sent = errors = 0
max_lag = 0.0
t0 = time.monotonic()
for r in range(rounds):
    base = t0 + r * interval
    for i in range(0, N, chunk):
        target = base + i * interval / N
        now = time.monotonic()
        if now < target:
            time.sleep(target - now)
        elif now - target > max_lag:
            max_lag = now - target
        for p in pkts[i:i + chunk]:
            try:
                sendto(p, addr)
                sent += 1
            except OSError:
                errors += 1
# The last round ends one interval after its start, as the others.
end = t0 + rounds * interval
now = time.monotonic()
if now < end:
    time.sleep(end - now)
print(json.dumps({"sent": sent, "send_errors": errors, "rounds": rounds,
                  "seconds": time.monotonic() - t0, "max_lag": max_lag}), flush=True)
"""

ECHO = r"""
import array, json, select, socket, sys
c = json.loads(sys.argv[1])
N, magic, pool = c["flows"], c["magic"].encode(), c["pool"]
ep = select.epoll()
socks = {}
for port in range(c["dport"], c["dport"] + c["dports"]):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)      # SO_RCVBUFFORCE
    s.setsockopt(socket.SOL_SOCKET, 32, 16 << 20)      # SO_SNDBUFFORCE
    s.bind((c["bind"], port))
    s.setblocking(False)
    socks[s.fileno()] = (s, port - c["dport"])
    ep.register(s.fileno(), select.EPOLLIN)
ep.register(0, select.EPOLLIN)
counts = array.array("I", bytes(4 * N))
mapped = array.array("i", [-1]) * N      # IPv4 source port * 64 + dport index, per flow
received = echoed = echo_errors = bad = wrong_src = remapped = 0
print("ready", flush=True)

def drain(s, k):
    global received, echoed, echo_errors, bad, wrong_src, remapped
    recvfrom, sendto = s.recvfrom, s.sendto
    while True:
        try:
            d, a = recvfrom(2048)
        except BlockingIOError:
            return
        received += 1
        if d[:4] != magic or len(d) < 8:
            bad += 1
            continue
        f = int.from_bytes(d[4:8], "big")
        if f >= N:
            bad += 1
            continue
        counts[f] += 1
        if a[0] != pool:
            wrong_src += 1
        key = a[1] * 64 + k
        m = mapped[f]
        if m != key:
            if m >= 0:
                remapped += 1
            mapped[f] = key
        try:
            sendto(d, a)
            echoed += 1
        except OSError:
            echo_errors += 1

running = True
while running:
    for fd, _ in ep.poll(1.0):
        if fd == 0:
            sys.stdin.readline()
            running = False
        else:
            drain(*socks[fd])
for s, k in socks.values():
    drain(s, k)
seen = [x for x in counts if x]
keys = [m for m in mapped if m >= 0]
print(json.dumps({"received": received, "echoed": echoed, "echo_errors": echo_errors, "bad": bad,
                  "wrong_src": wrong_src, "remapped": remapped, "flows_seen": len(seen),
                  "min_per_flow": min(counts) if N else 0, "max_per_flow": max(counts) if N else 0,
                  "distinct_mapped": len(set(keys))}), flush=True)
"""

SINK_NFT = f"""
table ip6 nat64_load {{
	counter echoes {{
	}}
	chain input {{
		type filter hook input priority filter; policy accept;
		ip6 saddr {INET6} udp sport {DPORT}-{DPORT + DPORTS - 1} counter name "echoes" drop
	}}
}}
"""


# -- counters outside the translator ---------------------------------------------

def snmp(topo, role):
    """IPv4 and IPv6 MIB counters of role's namespace (/proc/net/snmp, snmp6).
    Read directly: nstat keeps its history in one /tmp file for every namespace."""
    out = {}
    r = topo.run(role, "cat", "/proc/net/snmp", "/proc/net/snmp6", check=False)
    lines = r.stdout.splitlines()
    i = 0
    while i < len(lines):
        parts = lines[i].split()
        if parts and parts[0].endswith(":") and i + 1 < len(lines) and lines[i + 1].startswith(parts[0]):
            vals = lines[i + 1].split()
            for k, v in zip(parts[1:], vals[1:]):
                if v.lstrip("-").isdigit():
                    out[parts[0][:-1] + k] = int(v)
            i += 2
            continue
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
        i += 1
    return out


def link_stats(topo, role):
    """{ifname: {rx_dropped, tx_dropped, rx_errors, tx_errors, rx_packets, tx_packets}}."""
    r = topo.run(role, "ip", "-j", "-s", "link", "show", check=False)
    out = {}
    for link in json.loads(r.stdout or "[]"):
        st = link.get("stats64") or link.get("stats") or {}
        rx, tx = st.get("rx", {}), st.get("tx", {})
        out[link["ifname"]] = {"rx_packets": rx.get("packets", 0), "tx_packets": tx.get("packets", 0),
                               "rx_dropped": rx.get("dropped", 0), "tx_dropped": tx.get("dropped", 0),
                               "rx_errors": rx.get("errors", 0), "tx_errors": tx.get("errors", 0)}
    return out


def ct_stats(topo):
    """conntrack -S in gw, summed over CPUs."""
    r = topo.run("gw", "conntrack", "-S", check=False)
    out = {}
    for m in re.finditer(r"(\w+)=(\d+)", r.stdout):
        if m.group(1) != "cpu":
            out[m.group(1)] = out.get(m.group(1), 0) + int(m.group(2))
    return out


def softnet_drops():
    """Per-CPU backlog drops (/proc/net/softnet_stat, column 2): host-wide, not per namespace."""
    total = 0
    with open("/proc/net/softnet_stat") as f:
        for line in f:
            total += int(line.split()[1], 16)
    return total


def snapshot(topo, g):
    return {
        "stats": g.statistics(),
        "snmp": {role: snmp(topo, role) for role in ("lan6", "gw", "inet")},
        "links": {role: link_stats(topo, role) for role in ("lan6", "gw", "inet")},
        "ct": ct_stats(topo),
        "softnet": softnet_drops(),
        "echoes": echo_counter(topo),
    }


def echo_counter(topo):
    r = topo.run("lan6", "nft", "-j", "list", "counter", "ip6", "nat64_load", "echoes", check=False)
    for obj in json.loads(r.stdout or "{}").get("nftables", []):
        if "counter" in obj:
            return obj["counter"]["packets"]
    return 0


def diff(a, b):
    return {k: b.get(k, 0) - a.get(k, 0) for k in set(a) | set(b) if b.get(k, 0) != a.get(k, 0)}


# Kernel counters that mean "a packet was lost here", by namespace. (gw's
# Ip6InDiscards usually moves by one during a run: a router solicitation or
# MLD report of nat64tr0 that arrives at its peer nat64tr1, not load traffic.)
LOSS_SNMP = {
    "lan6": ("Ip6OutDiscards", "Ip6OutNoRoutes", "Ip6InDiscards"),
    "gw": ("Ip6InDiscards", "Ip6OutDiscards", "Ip6InNoRoutes", "Ip6OutNoRoutes", "Ip6InAddrErrors",
           "Ip6InHdrErrors", "Ip6InTooBigErrors", "Icmp6OutDestUnreachs", "Icmp6OutTimeExcds",
           "Icmp6OutPktTooBigs", "IpInDiscards", "IpOutDiscards", "IpOutNoRoutes"),
    "inet": ("IpInDiscards", "IpInHdrErrors", "IpInAddrErrors", "IpOutDiscards", "IpOutNoRoutes",
             "UdpInErrors", "UdpRcvbufErrors", "UdpSndbufErrors", "UdpNoPorts", "UdpInCsumErrors"),
}
LOSS_CT = ("drop", "early_drop", "insert_failed", "invalid", "error")


def losses(before, after):
    """Nonzero loss counters between two snapshots, as {"role:counter": n}."""
    out = {}
    for role, keys in LOSS_SNMP.items():
        d = diff(before["snmp"][role], after["snmp"][role])
        out.update({f"{role}:{k}": d[k] for k in keys if d.get(k)})
    for role in before["links"]:
        for ifname, st in after["links"][role].items():
            st0 = before["links"][role].get(ifname, {})
            for k in ("rx_dropped", "tx_dropped", "rx_errors", "tx_errors"):
                if st[k] - st0.get(k, 0):
                    out[f"{role}:{ifname}:{k}"] = st[k] - st0.get(k, 0)
    d = diff(before["ct"], after["ct"])
    out.update({f"gw:conntrack:{k}": d[k] for k in LOSS_CT if d.get(k)})
    if after["softnet"] - before["softnet"]:
        out["host:softnet-backlog-drops"] = after["softnet"] - before["softnet"]
    return out


def drop_keys(stats):
    """The translator's drop counters and the NAT66 table's drop counters."""
    return {k: v for k, v in stats.items() if k.startswith("drop-") or k.endswith("-drops")}


# -- the daemon ------------------------------------------------------------------

def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_ready(p, what, timeout=60.0):
    ready, _, _ = select.select([p.stdout], [], [], timeout)
    line = p.stdout.readline() if ready else ""
    if line.strip() != "ready":
        p.kill()
        raise RuntimeError(f"{what} did not start: {line!r} {p.stderr.read() if p.poll() is not None else ''}")


def nat66_udp_entries(topo):
    """NAT66 UDP conntrack entries toward the inet host, listed one by one: the
    original direction goes to <Prefix>::203.0.113.1, the reply to the pool."""
    r = topo.run("gw", "conntrack", "-L", "-f", "ipv6", "-p", "udp", "-d", INET6, check=False, timeout=120)
    return sum(1 for line in r.stdout.splitlines() if f"dst={INET6} " in line and f"dst={POOL6} " in line)


def ct_count(topo):
    return int(topo.run("gw", "cat", "/proc/sys/net/netfilter/nf_conntrack_count").stdout)


# -- the test ----------------------------------------------------------------------

def shape(variant):
    """(flows, client addresses, seconds, interval between two datagrams of a flow)."""
    if variant == "long":
        return (int(os.environ.get("NAT64_LOAD_FLOWS", 50000)), 250,
                float(os.environ.get("NAT64_LOAD_SECONDS", 60)), float(os.environ.get("NAT64_LOAD_INTERVAL", 5)))
    return 5000, 50, 5.0, 1.0


@pytest.mark.parametrize("variant", [
    "short",
    pytest.param("long", marks=pytest.mark.skipif(
        not LONG, reason="long run: NAT64_LONG_TESTS=1 (tools/run-tests --long)")),
])
def test_concurrent_udp_flows(variant, gatewayd, topo):
    g = gatewayd
    flows, addrs, seconds, interval = shape(variant)
    rounds = max(1, round(seconds / interval))
    sample_every = 5.0 if variant == "long" else 1.0

    # Room in conntrack: the limit is the host's unless this kernel lets the
    # namespace have its own; raise it only there, and put it back.
    ctmax = int(topo.run("gw", "cat", "/proc/sys/net/netfilter/nf_conntrack_max").stdout)
    restore_ctmax = None
    if ctmax < flows * 5 // 4:
        want = flows * 2
        r = topo.run("gw", "sh", "-c", f"echo {want} > /proc/sys/net/netfilter/nf_conntrack_max", check=False)
        if r.returncode != 0:
            pytest.skip(f"nf_conntrack_max {ctmax} < {flows * 5 // 4} and not writable in the namespace")
        restore_ctmax, ctmax = ctmax, want

    try:
        # Client addresses (/128 each, so lan6 answers neighbour solicitations for them).
        batch = "".join(f"address add {CLIENT_BASE}{a + 1:x}/128 dev eth0 nodad\n" for a in range(addrs))
        topo.run("lan6", "ip", "-batch", "-", input=batch)
        topo.run("lan6", "nft", "-f", "-", input=SINK_NFT)
        cfg = {"flows": flows, "addrs": addrs, "dports": DPORTS, "interval": interval, "rounds": rounds,
               "dst": T.INET_ADDR6, "base": CLIENT_BASE, "sport": SPORT, "dport": DPORT,
               "magic": MAGIC.decode(), "payload": PAYLOAD, "chunk": 50,
               "pool": T.GW_WAN_ADDR, "bind": T.INET_ADDR, "lan6": T.LAN6_ADDR}
        echo = topo.popen("inet", T.PYTHON, "-c", ECHO, json.dumps(cfg), stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_ready(echo, "the echo server in inet")
        sender = topo.popen("lan6", T.PYTHON, "-c", SENDER, json.dumps(cfg), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_ready(sender, "the sender in lan6")

        assert os.path.basename(os.readlink(f"/proc/{g.pid}/exe")) == "nat64-gatewayd"
        before = snapshot(topo, g)
        assert g.state() == "running"
        t0 = time.monotonic()
        sender.stdin.write("go\n")
        sender.stdin.flush()

        # While it runs: the daemon's RSS, conntrack's count, and GetStatistics()
        # (the D-Bus path, libnftables' counter read) every sample_every seconds.
        samples = []    # (t, VmRSS KiB, conntrack count, open fds)
        next_at = t0 + 1.0
        while sender.poll() is None:
            now = time.monotonic()
            if now >= next_at:
                g.statistics()
                samples.append((now - t0, vm_rss_kib(g.pid), ct_count(topo), open_fds(g.pid)))
                next_at += sample_every
            time.sleep(min(0.2, max(0.0, next_at - time.monotonic())))
        out, err = sender.communicate(timeout=30)
        assert sender.returncode == 0, err
        tx = json.loads(out.strip().splitlines()[-1])
        send_s = time.monotonic() - t0
        samples.append((send_s, vm_rss_kib(g.pid), ct_count(topo), open_fds(g.pid)))

        # Every flow's entry is still there (UDP timeout 30 s, last datagram < 1 interval ago).
        peak_listed = nat66_udp_entries(topo)
        time.sleep(1.0)
        echo.stdin.write("stop\n")
        echo.stdin.flush()
        out, err = echo.communicate(timeout=60)
        assert echo.returncode == 0, err
        rx = json.loads(out.strip().splitlines()[-1])
        time.sleep(0.5)
        after = snapshot(topo, g)
    finally:
        if restore_ctmax is not None:
            topo.run("gw", "sh", "-c", f"echo {restore_ctmax} > /proc/sys/net/netfilter/nf_conntrack_max",
                     check=False)

    d = diff(before["stats"], after["stats"])
    drops = {k: v for k, v in drop_keys(d).items() if v}
    x64, x46 = d.get("packets-6to4", 0), d.get("packets-4to6", 0)
    echoes_back = after["echoes"] - before["echoes"]
    lost = losses(before, after)
    ct_peak = max(s[2] for s in samples)
    rss = [s[1] for s in samples]
    ref_i = next((i for i, s in enumerate(samples) if s[0] >= 10.0), 0)
    if ref_i == len(samples) - 1:
        ref_i = 0
    ref_rss = rss[ref_i]
    allowed_kib = max(2 * 1024, ref_rss // 10)

    print(f"\nload ({variant}): {flows} flows from {addrs} client addresses x {flows // addrs} ports "
          f"to {DPORTS} ports of {T.INET_ADDR6}; {rounds} datagrams per flow, one every {interval:g} s")
    print(f"  sent {tx['sent']} datagrams ({tx['send_errors']} send errors) in {tx['seconds']:.1f} s = "
          f"{tx['sent'] / tx['seconds']:.0f} pps each way (sender's worst lag behind schedule "
          f"{tx['max_lag'] * 1000:.0f} ms)")
    print(f"  translator: packets-6to4 +{x64}, packets-4to6 +{x46}; of {len(drop_keys(after['stats']))} drop "
          f"counters, grown: {drops or 'none'}")
    print(f"  inet: received {rx['received']} from {rx['flows_seen']} flows ({rx['min_per_flow']}.."
          f"{rx['max_per_flow']} per flow, {rx['distinct_mapped']} distinct IPv4 source tuples, "
          f"{rx['remapped']} re-mapped, {rx['bad']} bad, {rx['wrong_src']} from another source), "
          f"echoed {rx['echoed']} ({rx['echo_errors']} echo errors); lan6 got {echoes_back} echoes back")
    print(f"  conntrack in gw: peak count {ct_peak} (max {ctmax}), NAT66 UDP entries listed at the end "
          f"{peak_listed}; conntrack-full-events {after['stats']['conntrack-full-events']}")
    print(f"  losses outside the translator: {lost or 'none'}")
    print("  daemon VmRSS (KiB) at t = " + ", ".join(f"{t:.0f}s: {r}" for t, r, _, _ in samples))
    print("  daemon's open fds at t = " + ", ".join(f"{t:.0f}s: {n}" for t, _, _, n in samples))
    print("  conntrack count at t = " + ", ".join(f"{t:.0f}s: {c}" for t, _, c, _ in samples))
    print(f"  VmRSS: reference {ref_rss} KiB at {samples[ref_i][0]:.0f} s, last {rss[-1]} KiB "
          f"({rss[-1] - ref_rss:+d} KiB, allowed +{allowed_kib}), run {time.monotonic() - t0:.1f} s")

    # The daemon lived through it, in the state it should be in.
    assert g.running() and g.state() == "running"
    assert after["stats"]["conntrack-full-events"] == before["stats"]["conntrack-full-events"]
    # Every flow was alive in conntrack at once.
    assert peak_listed >= flows, f"only {peak_listed} NAT66 UDP entries listed"
    assert ct_peak >= flows
    # The translator dropped nothing.
    assert not drops, f"translator/NAT66 drop counters grew: {drops}"
    # It translated every datagram lan6 sent and every echo inet sent; what is
    # missing anywhere on the way was lost outside it, where a kernel counter
    # of lan6, gw, inet or the host's backlog owns up to it.
    counted = sum(lost.values())
    assert 0 <= tx["sent"] - x64 <= counted, f"packets-6to4 +{x64} for {tx['sent']} sent; losses {lost}"
    assert 0 <= x64 - rx["received"] <= counted, f"inet received {rx['received']} of {x64}; losses {lost}"
    assert 0 <= rx["echoed"] - x46 <= counted, f"packets-4to6 +{x46} for {rx['echoed']} echoed; losses {lost}"
    assert 0 <= x46 - echoes_back <= counted, f"lan6 got {echoes_back} of {x46} echoes; losses {lost}"
    assert rx["bad"] == 0 and rx["wrong_src"] == 0
    # Losses outside the translator are the machine's, not the gateway's, but
    # they must stay small; with none (the usual case) every flow got every datagram.
    assert tx["send_errors"] <= tx["sent"] // 100 and tx["sent"] - echoes_back <= tx["sent"] // 100, lost
    if tx["send_errors"] == 0 and rx["received"] == tx["sent"]:
        assert rx["flows_seen"] == flows and rx["min_per_flow"] == rx["max_per_flow"] == rounds
    assert rx["flows_seen"] >= flows * 99 // 100
    # No flow's conntrack entry died and was re-created under load: each kept its IPv4 port.
    assert rx["remapped"] == 0
    assert rx["distinct_mapped"] == rx["flows_seen"]
    # Memory: stable.
    assert rss[-1] - ref_rss <= allowed_kib, f"VmRSS grew {rss[-1] - ref_rss} KiB: {samples}"
    assert samples[-1][3] <= samples[ref_i][3] + 2, f"the daemon's open fds grew: {samples}"
