#!/usr/bin/python3
# nbd_ops.py URI OP...: runs each OP on one connection and prints one line
# per OP: "ok" or the errno name the server replied with.
# OP is read:OFFSET:LENGTH, write:OFFSET:LENGTH, zero:..., trim:...,
# flush, cache:OFFSET:LENGTH or sleep:SECONDS (a pause between requests).
# write, zero and trim take optional flags after the length: fua, fast
# (fast zero), nohole; fill:OFFSET:LENGTH:BYTE writes BYTE (hex), and
# md5:OFFSET:LENGTH prints the md5 of what it reads instead of "ok".
# With NBD_OPS_LAX=1 in the environment, libnbd does not check requests
# against the export's flags and block sizes: the server has to.
import hashlib
import os
import sys
import time

import nbd


def run(h, op):
    name, *args = op.split(":")
    if name == "sleep":
        time.sleep(float(args[0]))
        return
    offset, length = (int(args[0], 0), int(args[1], 0)) if args else (0, 0)
    flags = 0
    for word in args[2:]:
        flags |= {"fua": nbd.CMD_FLAG_FUA, "fast": nbd.CMD_FLAG_FAST_ZERO,
                  "nohole": nbd.CMD_FLAG_NO_HOLE}.get(word, 0)
    if name == "md5":
        return hashlib.md5(h.pread(length, offset)).hexdigest()
    if name == "fill":
        h.pwrite(bytes([int(args[2], 16)]) * length, offset)
    elif name == "read":
        h.pread(length, offset)
    elif name == "write":
        h.pwrite(b"\x5a" * length, offset, flags)
    elif name == "zero":
        h.zero(length, offset, flags)
    elif name == "trim":
        h.trim(length, offset, flags)
    elif name == "cache":
        h.cache(length, offset)
    elif name == "flush":
        h.flush()
    else:
        raise SystemExit("unknown op " + op)


h = nbd.NBD()
if os.environ.get("NBD_OPS_LAX") == "1":
    h.set_strict_mode(0)
h.connect_uri(sys.argv[1])
for op in sys.argv[2:]:
    try:
        result = run(h, op)
        if not op.startswith("sleep"):
            print(result or "ok")
    except nbd.Error as e:
        print(e.errno or "error")
h.shutdown()
