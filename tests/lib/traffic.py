#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Small, bounded traffic endpoints, run inside namespaces by the tests and the demo.

  traffic.py tcp-server PORT {sink|source} [BYTES]  accept once; print JSON
  traffic.py tcp-client HOST PORT {send|recv} [BYTES] [--bind ADDR] [--sport N]
                        [--rate BYTES_PER_SECOND]     (send only)
  traffic.py udp-echo PORT COUNT [BIND]               echo COUNT datagrams
  traffic.py udp-client HOST PORT COUNT [SIZE] [--bind ADDR] [--sport N]
  traffic.py mcast-listen GROUP PORT IFADDR           one datagram, print JSON
  traffic.py mcast-send GROUP PORT HOPS TEXT          five datagrams
  traffic.py udp-listen BIND PORT COUNT SECONDS [--join GROUP IFADDR]
                                                      up to COUNT datagrams
  traffic.py udp-send HOST PORT COUNT HEX [--hops N] [--ifname IF]
                      [--bind ADDR] [--sport N] [--broadcast]
  traffic.py udp-flows HOST PORT COUNT PAUSE          COUNT flows: a datagram from
                                                      each, PAUSE s, a second one
  traffic.py frame-capture IFNAME UDPPORT COUNT SECONDS
                                                      IPv4/UDP frames to UDPPORT

Servers print "ready" on a line of their own once they listen. Data are a
deterministic pseudo-random stream; both ends print its sha256. Every socket
has a timeout, so nothing here runs for ever.
"""

import hashlib
import json
import random
import socket
import struct
import sys

TIMEOUT = 30
CHUNK = 65536


def payload(n):
    rng = random.Random(6052)
    while n > 0:
        k = min(CHUNK, n)
        yield rng.randbytes(k)
        n -= k


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listen(proto, port):
    s = socket.socket(socket.AF_INET6, proto)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)   # v4 and v6 alike
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    s.settimeout(TIMEOUT)
    return s


def listen_v4_or_v6(proto, port):
    try:
        return listen(proto, port)
    except OSError:
        # IPv6 disabled in this namespace (inet, lan4)
        s = socket.socket(socket.AF_INET, proto)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        s.settimeout(TIMEOUT)
        return s


def peer_of(addr):
    host = addr[0]
    if host.startswith("::ffff:"):
        host = host[7:]
    return host, addr[1]


def tcp_server(port, mode, nbytes=0):
    s = listen_v4_or_v6(socket.SOCK_STREAM, port)
    s.listen(4)
    print("ready", flush=True)
    c, addr = s.accept()
    c.settimeout(TIMEOUT)
    h = hashlib.sha256()
    total = 0
    if mode == "sink":
        while True:
            d = c.recv(CHUNK)
            if not d:
                break
            h.update(d)
            total += len(d)
    else:
        for d in payload(nbytes):
            c.sendall(d)
            h.update(d)
            total += len(d)
        c.shutdown(socket.SHUT_WR)
        c.recv(1)
    c.close()
    host, sport = peer_of(addr)
    print(json.dumps({"peer": host, "peer_port": sport, "bytes": total, "sha256": h.hexdigest()}), flush=True)


def tcp_client(host, port, mode, nbytes=0, bind=None, sport=0, rate=0):
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    if bind or sport:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((bind or "", sport))
    s.connect((host, port))
    h = hashlib.sha256()
    total = 0
    if mode == "send":
        import time
        start = time.monotonic()
        for d in payload(nbytes):
            s.sendall(d)
            h.update(d)
            total += len(d)
            if rate:
                ahead = total / rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
        s.shutdown(socket.SHUT_WR)
        s.recv(1)
    else:
        while True:
            d = s.recv(CHUNK)
            if not d:
                break
            h.update(d)
            total += len(d)
    local = s.getsockname()
    s.close()
    print(json.dumps({"local": local[0], "local_port": local[1], "bytes": total, "sha256": h.hexdigest()}),
          flush=True)


def udp_echo(port, count, bind=None):
    if bind:
        # Replies must leave from the address that was asked (a wildcard
        # socket would answer from the address routing picks).
        s = socket.socket(family(bind), socket.SOCK_DGRAM)
        s.bind((bind, port))
        s.settimeout(TIMEOUT)
    else:
        s = listen_v4_or_v6(socket.SOCK_DGRAM, port)
    print("ready", flush=True)
    peers = []
    for _ in range(count):
        d, addr = s.recvfrom(CHUNK)
        s.sendto(d, addr)
        peers.append(list(peer_of(addr)))
    print(json.dumps({"peers": peers}), flush=True)


def udp_client(host, port, count, size=64, bind=None, sport=0):
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.settimeout(3)
    if bind or sport:
        s.bind((bind or "", sport))
    ok = 0
    for i in range(count):
        msg = struct.pack("!I", i) + bytes(size - 4)
        s.sendto(msg, (host, port))
        try:
            d, _ = s.recvfrom(CHUNK)
            ok += d == msg
        except socket.timeout:
            pass
    print(json.dumps({"sent": count, "echoed": ok}), flush=True)


def mcast_listen(group, port, ifaddr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    # An explicit interface: the namespace may have no route toward the group.
    mreq = struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton(ifaddr))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    s.settimeout(TIMEOUT)
    print("ready", flush=True)
    d, addr = s.recvfrom(CHUNK)
    print(json.dumps({"peer": addr[0], "data": d.decode(errors="replace")}), flush=True)


def mcast_send(group, port, hops, text):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    # Default hop limit 1 would die in the gateway's forwarding.
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, hops)
    for _ in range(5):
        s.sendto(text.encode(), (group, port))
    print(json.dumps({"sent": 5}), flush=True)


def udp_listen(bind, port, count, seconds, join=None):
    """Receives up to count datagrams within seconds (a timeout is no error:
    "nothing arrived" is a result); prints their peers and payloads (hex)."""
    import time
    fam = family(bind)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.bind((bind, port))
    if join:
        group, ifaddr = join
        if fam == socket.AF_INET:
            mreq = struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton(ifaddr))
            s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        else:
            mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", socket.if_nametoindex(ifaddr))
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    print("ready", flush=True)
    got = []
    deadline = time.monotonic() + seconds
    while len(got) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            d, addr = s.recvfrom(CHUNK)
        except socket.timeout:
            break
        got.append({"peer": peer_of(addr)[0], "port": addr[1], "data": d.hex()})
    print(json.dumps({"received": got}), flush=True)


def udp_send(host, port, count, data, hops=None, ifname=None, bind=None, sport=0, broadcast=False):
    import time
    fam = family(host)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if broadcast:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    if fam == socket.AF_INET6:
        if hops is not None:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, hops)
        if ifname:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex(ifname))
    else:
        if hops is not None:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, hops)
        if ifname:
            # An IPv4 interface address here, as IP_MULTICAST_IF takes it.
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ifname))
    if bind or sport:
        s.bind((bind or "", sport))
    for _ in range(count):
        s.sendto(data, (host, port))
        time.sleep(0.02)
    local = s.getsockname()
    print(json.dumps({"sent": count, "local": local[0], "local_port": local[1]}), flush=True)


def udp_flows(host, port, count, pause):
    """count flows, each from a socket of its own: "first <port>" from each
    (4 ms apart), then after pause seconds "second <port>" from each; prints
    the local ports. A flow whose first datagram was mapped wrongly loses
    its second too: conntrack keeps the mapping of a flow's first packet."""
    import time
    socks, ports = [], []
    for _ in range(count):
        s = socket.socket(family(host), socket.SOCK_DGRAM)
        s.bind(("", 0))
        ports.append(s.getsockname()[1])
        s.sendto(b"first %d" % ports[-1], (host, port))
        socks.append(s)
        time.sleep(0.004)
    time.sleep(pause)
    for s, p in zip(socks, ports):
        s.sendto(b"second %d" % p, (host, port))
        time.sleep(0.002)
    print(json.dumps({"ports": ports}), flush=True)


def frame_capture(ifname, udp_port, count, seconds):
    """Ethernet frames carrying IPv4/UDP to udp_port seen on ifname (either
    direction): MACs, IPv4 addresses, TTL and payload (hex)."""
    import time
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))   # ETH_P_ALL
    s.bind((ifname, 0))
    print("ready", flush=True)
    frames = []
    deadline = time.monotonic() + seconds
    while len(frames) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            f = s.recv(65536)
        except socket.timeout:
            break
        if len(f) < 14 + 20 + 8 or f[12:14] != b"\x08\x00":
            continue
        ip = f[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 17 or len(ip) < ihl + 8:
            continue
        udp = ip[ihl:]
        if struct.unpack("!H", udp[2:4])[0] != udp_port:
            continue
        total = struct.unpack("!H", ip[2:4])[0]
        frames.append({
            "dst_mac": f[0:6].hex(":"), "src_mac": f[6:12].hex(":"),
            "src": socket.inet_ntoa(ip[12:16]), "dst": socket.inet_ntoa(ip[16:20]),
            "ttl": ip[8], "data": ip[ihl + 8:total].hex(),
        })
    print(json.dumps({"frames": frames}), flush=True)


def split_options(args):
    """Positional arguments, --bind ADDR, --sport N."""
    pos, bind, sport = [], None, 0
    rest = list(args)
    while rest:
        a = rest.pop(0)
        if a == "--rate":
            pos.append(("rate", int(rest.pop(0))))
        elif a == "--bind":
            bind = rest.pop(0)
        elif a == "--sport":
            sport = int(rest.pop(0))
        else:
            pos.append(a)
    return pos, bind, sport


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "tcp-server":
        tcp_server(int(args[0]), args[1], int(args[2]) if len(args) > 2 else 0)
    elif cmd == "tcp-client":
        pos, bind, sport = split_options(args[3:])
        rate = dict(p for p in pos if isinstance(p, tuple)).get("rate", 0)
        pos = [p for p in pos if not isinstance(p, tuple)]
        tcp_client(args[0], int(args[1]), args[2], int(pos[0]) if pos else 0, bind, sport, rate)
    elif cmd == "udp-echo":
        udp_echo(int(args[0]), int(args[1]), args[2] if len(args) > 2 else None)
    elif cmd == "udp-client":
        pos, bind, sport = split_options(args[3:])
        udp_client(args[0], int(args[1]), int(args[2]), int(pos[0]) if pos else 64, bind, sport)
    elif cmd == "mcast-listen":
        mcast_listen(args[0], int(args[1]), args[2])
    elif cmd == "mcast-send":
        mcast_send(args[0], int(args[1]), int(args[2]), args[3])
    elif cmd == "udp-listen":
        join = None
        if "--join" in args:
            i = args.index("--join")
            join = (args[i + 1], args[i + 2])
        udp_listen(args[0], int(args[1]), int(args[2]), float(args[3]), join)
    elif cmd == "udp-send":
        rest, opts = args[4:], {}
        while rest:
            a = rest.pop(0)
            if a == "--broadcast":
                opts["broadcast"] = True
            else:
                opts[a[2:]] = rest.pop(0)
        udp_send(args[0], int(args[1]), int(args[2]), bytes.fromhex(args[3]),
                 hops=int(opts["hops"]) if "hops" in opts else None, ifname=opts.get("ifname"),
                 bind=opts.get("bind"), sport=int(opts.get("sport", 0)), broadcast=opts.get("broadcast", False))
    elif cmd == "udp-flows":
        udp_flows(args[0], int(args[1]), int(args[2]), float(args[3]))
    elif cmd == "frame-capture":
        frame_capture(args[0], int(args[1]), int(args[2]), float(args[3]))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
