#!/usr/bin/python3
# nbd_ops.py URI OP...: runs each OP on one connection and prints one line
# per OP: "ok" or the errno name the server replied with.
# OP is read:OFFSET:LENGTH, write:OFFSET:LENGTH, zero:..., trim:...,
# flush, cache:OFFSET:LENGTH or sleep:SECONDS (a pause between requests).
import sys
import time

import nbd


def run(h, op):
    name, *args = op.split(":")
    if name == "sleep":
        time.sleep(float(args[0]))
        return
    offset, length = (int(args[0]), int(args[1])) if args else (0, 0)
    if name == "read":
        h.pread(length, offset)
    elif name == "write":
        h.pwrite(b"\x5a" * length, offset)
    elif name == "zero":
        h.zero(length, offset)
    elif name == "trim":
        h.trim(length, offset)
    elif name == "cache":
        h.cache(length, offset)
    elif name == "flush":
        h.flush()
    else:
        raise SystemExit("unknown op " + op)


h = nbd.NBD()
h.connect_uri(sys.argv[1])
for op in sys.argv[2:]:
    try:
        run(h, op)
        if not op.startswith("sleep"):
            print("ok")
    except nbd.Error as e:
        print(e.errno or "error")
h.shutdown()
