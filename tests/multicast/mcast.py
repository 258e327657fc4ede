#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Real multicast sockets for tests/multicast, run inside a test namespace:

    mcast.py send4 GROUP PORT COUNT TTL IFADDR [INTERVAL] [SIZE]
    mcast.py listen6 GROUP IFNAME PORT COUNT SECONDS
    mcast.py capture6 IFNAME PORT SECONDS

send4 sends COUNT numbered datagrams (datagram(seq, size)) to an IPv4
group from the interface with address IFADDR, with TTL, without looping
them back to itself. listen6 joins an IPv6 group on IFNAME and reports
every datagram: source, hop limit (IPV6_HOPLIMIT), the kernel's receive
time (SO_TIMESTAMPNS, CLOCK_REALTIME) and the bytes. capture6 reports
every IPv6 UDP frame to PORT seen on IFNAME, whatever its group, so that
"nothing reached the LAN" is measured below any socket's membership.
Servers print "ready" once listening and one JSON line at the end.
"""
import json
import socket
import struct
import sys
import time

SO_TIMESTAMPNS = 35
IPV6_RECVHOPLIMIT = 51
IPV6_HOPLIMIT = 52


def datagram(seq, size=200):
    """Datagram seq: its number, then bytes that depend on it (every value appears)."""
    return struct.pack("!I", seq) + bytes((seq * 7 + k) % 256 for k in range(size - 4))


def send4(group, port, count, ttl, ifaddr, interval=0.005, size=200):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ifaddr))
    for seq in range(count):
        s.sendto(datagram(seq, size), (group, port))
        time.sleep(interval)
    print(json.dumps({"sent": count, "at": time.time()}), flush=True)


def listen6(group, ifname, port, count, seconds):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind(("::", port))
    mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", socket.if_nametoindex(ifname))
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
            data, anc, _, addr = s.recvmsg(65536, 256)
        except socket.timeout:
            break
        hops, ts = None, None
        for level, kind, value in anc:
            if level == socket.IPPROTO_IPV6 and kind == IPV6_HOPLIMIT:
                hops = struct.unpack("@i", value[:4])[0]
            elif level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("@qq", value[:16])
                ts = sec + nsec / 1e9
        got.append({"src": addr[0], "sport": addr[1], "hops": hops, "ts": ts, "data": data.hex()})
    print(json.dumps({"received": got}), flush=True)


def capture6(ifname, port, seconds):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))     # ETH_P_ALL
    s.bind((ifname, 0))
    print("ready", flush=True)
    frames = []
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            f = s.recv(65536)
        except socket.timeout:
            break
        # Ethernet, IPv6 with UDP right after the fixed header
        if len(f) < 14 + 40 + 8 or f[12:14] != b"\x86\xdd" or f[14 + 6] != 17:
            continue
        if struct.unpack("!H", f[14 + 40 + 2:14 + 40 + 4])[0] != port:
            continue
        frames.append({"src": socket.inet_ntop(socket.AF_INET6, f[22:38]),
                       "dst": socket.inet_ntop(socket.AF_INET6, f[38:54]), "hops": f[14 + 7]})
    print(json.dumps({"frames": frames}), flush=True)


def main(argv):
    cmd, args = argv[0], argv[1:]
    if cmd == "send4":
        group, port, count, ttl, ifaddr = args[0], int(args[1]), int(args[2]), int(args[3]), args[4]
        interval = float(args[5]) if len(args) > 5 else 0.005
        size = int(args[6]) if len(args) > 6 else 200
        send4(group, port, count, ttl, ifaddr, interval, size)
    elif cmd == "listen6":
        listen6(args[0], args[1], int(args[2]), int(args[3]), float(args[4]))
    elif cmd == "capture6":
        capture6(args[0], int(args[1]), float(args[2]))
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv[1:])
