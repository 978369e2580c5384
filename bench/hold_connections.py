#!/usr/bin/python3
"""Helper of bench/connections.sh: opens COUNT connections to the server
on SOCKET (process PID), each through NBD_OPT_GO, and holds them; then
ACTIVE of them do verified I/O (write a pattern, read it back, compare)
for SECONDS.  Prints one line of figures:

  held RSS_BEFORE_KIB RSS_HELD_KIB THREADS_BEFORE THREADS_HELD IO_OPS IO_ERRORS
"""

import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "protocol"))
from nbd_client import CMD_READ, CMD_WRITE, Client  # noqa: E402


def status(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def verified_io(clients, seconds):
    ops = errors = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for n, c in enumerate(clients):
            offset = n * 65536
            data = os.urandom(4096)
            c.request(CMD_WRITE, offset, len(data), cookie=1, data=data)
            error, _, _ = c.simple_reply()
            c.request(CMD_READ, offset, len(data), cookie=2)
            error2, _, back = c.simple_reply(len(data))
            ops += 2
            errors += bool(error or error2 or back != data)
    return ops, errors


def main():
    sock, count, active, seconds, pid = sys.argv[1], *map(int, sys.argv[2:6])
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    rss_before, threads_before = status(pid, "VmRSS"), status(pid, "Threads")
    clients = []
    for _ in range(count):
        try:
            c = Client(sock)
            c.connect_go()
            clients.append(c)
        except Exception as e:  # the server refused: report what was held
            print("connection %d failed: %s" % (len(clients) + 1, e), file=sys.stderr)
            break
    time.sleep(1)  # let the server's threads settle
    rss_held, threads_held = status(pid, "VmRSS"), status(pid, "Threads")
    ops, errors = verified_io(clients[:active], seconds)
    print(len(clients), rss_before, rss_held, threads_before, threads_held, ops, errors)
    for c in clients:
        c.close()


if __name__ == "__main__":
    main()
