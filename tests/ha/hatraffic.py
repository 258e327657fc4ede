#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Traffic for the HA tests, run inside namespaces (tests/lib/traffic.py has the rest).

  hatraffic.py udp-echo BIND PORT SECONDS IFNAME
      echoes every datagram to BIND:PORT for SECONDS (bound: replies leave
      from the address asked); an AF_PACKET socket on
      IFNAME records each one's arrival time, source MAC, source address and
      port and sequence number (the first 4 bytes): which gateway brought it
  hatraffic.py udp-stream HOST PORT RATE SECONDS
      RATE datagrams a second (sequence number, then padding), collects the
      echoes; prints what came back and the longest gap between echoes
  hatraffic.py tcp-echo PORT SECONDS
      accepts many connections and echoes them all until SECONDS pass
  hatraffic.py tcp-flows HOST PORT COUNT SECONDS [--hold SECONDS]
      COUNT connections at once, each sending a numbered 8-byte record every
      100 ms for SECONDS and checking every echo; prints per flow the local
      port, records sent and echoed intact, the longest wait between two
      echoes, and whether it broke

Servers print "ready" once they listen. JSON results on the last line.
"""

import json
import selectors
import socket
import struct
import sys
import threading
import time

ETH_P_ALL = 0x0003


def udp_echo(bind, port, seconds, ifname):
    seen = []
    stop = threading.Event()
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    raw.bind((ifname, 0))
    raw.settimeout(0.2)

    def sniff():
        while not stop.is_set():
            try:
                frame, addr = raw.recvfrom(65535)
            except socket.timeout:
                continue
            if addr[2] == socket.PACKET_OUTGOING or len(frame) < 14 + 20 + 8:
                continue
            if struct.unpack("!H", frame[12:14])[0] != 0x0800 or frame[14 + 9] != 17:
                continue
            ihl = (frame[14] & 0x0f) * 4
            udp = frame[14 + ihl:]
            sport, dport = struct.unpack("!HH", udp[:4])
            if dport != port or len(udp) < 12:
                continue
            seq = struct.unpack("!I", udp[8:12])[0]
            seen.append([time.monotonic(), frame[6:12].hex(":"), socket.inet_ntoa(frame[14 + 12:14 + 16]),
                         sport, seq])

    t = threading.Thread(target=sniff, daemon=True)
    t.start()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((bind, port))
    s.settimeout(0.2)
    print("ready", flush=True)
    end = time.monotonic() + seconds
    echoed = 0
    while time.monotonic() < end:
        try:
            d, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        s.sendto(d, addr)
        echoed += 1
    stop.set()
    t.join()
    print(json.dumps({"echoed": echoed, "frames": seen}), flush=True)


def udp_stream(host, port, rate, seconds):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setblocking(False)
    s.connect((host, port))
    count = int(rate * seconds)
    start = time.monotonic()
    back, times = set(), []
    i = 0
    while True:
        now = time.monotonic()
        if i < count and now >= start + i / rate:
            try:
                s.send(struct.pack("!I", i) + bytes(60))
            except (BlockingIOError, OSError):
                pass        # counted as lost: the echo will not come
            i += 1
            continue
        if i >= count and now > start + seconds + 1.0:
            break
        try:
            d = s.recv(2048)
            seq = struct.unpack("!I", d[:4])[0]
            if seq not in back:
                back.add(seq)
                times.append(time.monotonic())
        except (BlockingIOError, ConnectionRefusedError):
            time.sleep(0.001)
    gaps = [b - a for a, b in zip(times, times[1:])]
    lost = sorted(set(range(count)) - back)
    print(json.dumps({"sent": count, "echoed": len(back), "lost": lost, "max_gap": max(gaps or [0]),
                      "local_port": s.getsockname()[1]}), flush=True)


def tcp_echo(port, seconds):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(1024)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ)
    peers = {}
    print("ready", flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for key, _ in sel.select(0.2):
            if key.fileobj is ls:
                try:
                    c, addr = ls.accept()
                except BlockingIOError:
                    continue
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ)
                peers[c.fileno()] = list(addr)
                continue
            c = key.fileobj
            try:
                d = c.recv(65536)
            except (BlockingIOError, ConnectionError):
                d = b""
            if not d:
                sel.unregister(c)
                c.close()
                continue
            try:
                c.sendall(d)    # a few bytes: the send buffer takes them
            except OSError:
                pass
    print(json.dumps({"peers": list(peers.values())}), flush=True)


def tcp_flows(host, port, count, seconds, hold=0.0):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    sel = selectors.DefaultSelector()
    flows = []
    for i in range(count):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect((host, port))
        s.setblocking(False)
        f = {"sock": s, "id": i, "sent": 0, "ok": 0, "bad": 0, "buf": b"", "broken": None,
             "local_port": s.getsockname()[1], "last": None, "max_gap": 0.0}
        flows.append(f)
        sel.register(s, selectors.EVENT_READ, f)
    print("ready", flush=True)
    start = time.monotonic()
    next_send = start
    while True:
        now = time.monotonic()
        if now >= next_send and now < start + seconds:
            for f in flows:
                if f["broken"]:
                    continue
                try:
                    f["sock"].send(struct.pack("!II", f["id"], f["sent"]))
                    f["sent"] += 1
                except BlockingIOError:
                    pass
                except OSError as e:
                    f["broken"] = f"send: {e}"
            next_send += 0.1
        if now > start + seconds + hold:
            break
        for key, _ in sel.select(0.02):
            f = key.data
            try:
                d = f["sock"].recv(65536)
            except BlockingIOError:
                continue
            except OSError as e:
                f["broken"] = f"recv: {e}"
                sel.unregister(f["sock"])
                continue
            if not d:
                f["broken"] = "closed by peer"
                sel.unregister(f["sock"])
                continue
            f["buf"] += d
            while len(f["buf"]) >= 8:
                fid, n = struct.unpack("!II", f["buf"][:8])
                f["buf"] = f["buf"][8:]
                if fid == f["id"] and n == f["ok"] + f["bad"]:
                    f["ok"] += 1
                    t = time.monotonic()
                    if f["last"] is not None:
                        f["max_gap"] = max(f["max_gap"], t - f["last"])
                    f["last"] = t
                else:
                    f["bad"] += 1
    out = [{"id": f["id"], "local_port": f["local_port"], "sent": f["sent"], "ok": f["ok"], "bad": f["bad"],
            "broken": f["broken"], "max_gap": round(f["max_gap"], 3)} for f in flows]
    for f in flows:
        f["sock"].close()
    print(json.dumps({"flows": out}), flush=True)


def main(argv):
    cmd, a = argv[1], argv[2:]
    if cmd == "udp-echo":
        udp_echo(a[0], int(a[1]), float(a[2]), a[3])
    elif cmd == "udp-stream":
        udp_stream(a[0], int(a[1]), float(a[2]), float(a[3]))
    elif cmd == "tcp-echo":
        tcp_echo(int(a[0]), float(a[1]))
    elif cmd == "tcp-flows":
        hold = float(a[a.index("--hold") + 1]) if "--hold" in a else 0.0
        tcp_flows(a[0], int(a[1]), int(a[2]), float(a[3]), hold)
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
