#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Names of the BPF programs attached to a device's tcx hook (kernel >= 6.6).

iproute2 6.1 and bpftool 7.1 do not show tcx attachments, so this asks the
kernel itself (BPF_PROG_QUERY). Run inside the device's network namespace:

    tcx.py DEV ingress|egress      prints a JSON list of program names
"""

import ctypes
import json
import os
import platform
import socket
import struct
import sys

SYS_BPF = {"x86_64": 321, "aarch64": 280, "armv7l": 386, "ppc64le": 361, "s390x": 351, "riscv64": 280}
BPF_PROG_GET_FD_BY_ID = 13
BPF_OBJ_GET_INFO_BY_FD = 15
BPF_PROG_QUERY = 16
BPF_TCX = {"ingress": 46, "egress": 47}
PROG_INFO_NAME_OFFSET = 64      # struct bpf_prog_info: name[16] after 64 bytes

libc = ctypes.CDLL(None, use_errno=True)


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(bytes(attr), len(attr))
    r = libc.syscall(SYS_BPF[platform.machine()], cmd, buf, len(attr))
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r, buf.raw


def tcx_programs(dev, hook):
    ids = (ctypes.c_uint32 * 64)()
    attr = struct.pack("=IIIIQII", socket.if_nametoindex(dev), BPF_TCX[hook], 0, 0,
                       ctypes.addressof(ids), len(ids), 0) + bytes(40)
    try:
        _, out = bpf(BPF_PROG_QUERY, attr)
    except OSError as e:
        if e.errno in (22, 95, 524):    # EINVAL/EOPNOTSUPP/ENOTSUPP: no tcx in this kernel
            return []
        raise
    count = struct.unpack_from("=I", out, 24)[0]
    names = []
    for prog_id in ids[:count]:
        fd, _ = bpf(BPF_PROG_GET_FD_BY_ID, struct.pack("=III", prog_id, 0, 0))
        try:
            info = ctypes.create_string_buffer(256)
            bpf(BPF_OBJ_GET_INFO_BY_FD, struct.pack("=IIQ", fd, len(info), ctypes.addressof(info)))
            names.append(info.raw[PROG_INFO_NAME_OFFSET:PROG_INFO_NAME_OFFSET + 16].split(b"\0")[0].decode())
        finally:
            os.close(fd)
    return names


if __name__ == "__main__":
    print(json.dumps(tcx_programs(sys.argv[1], sys.argv[2])))
