#!/usr/bin/python3
"""Regression tests for issue 16 (hardening), over raw sockets:

- option payloads are capped and read as they arrive, so clients that have
  not authenticated cannot make the server hold much memory;
- --timeout drops clients that do not finish negotiating;
- a client that cannot get a thread is refused alone (RLIMIT_NPROC);
- a shutdown finishes even when a client stopped reading, and requests
  received before it are answered (ESHUTDOWN for those not started);
- meta-context queries containing NUL are refused (EPERM for writes to a
  read-only export whatever their flags: test_protocol.py readonly_export);
- block status near the 32-bit limits (the two 2025 nbdkit CVEs).
"""

import os
import shutil
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbd_client import *  # noqa: E402,F403
from test_protocol import check, exit_status, test, with_server  # noqa: E402

NBDKIT = os.environ.get("NBDKIT", "nbdkit")
MIB = 1 << 20
# How long a SIGTERM may take to end the server here: far above the 3 s
# grace period, so that only a server that never exits fails.
EXIT_BOUND = 60


def rss_mib(srv):
    return srv.status("VmRSS") / 1024


def still_serves(srv, tls_required=False):
    check(srv.alive(), "server still running")
    c = Client(srv.sock)
    if tls_required:
        c.newstyle_hello()
        check(c.go()[-1][0] == REP_ERR_TLS_REQD, "plaintext GO refused: TLS required")
    else:
        c.connect_go()
    c.close()


def announce_option(c, option, length, payload=b""):
    """Sends an option header announcing `length` bytes, and `payload`."""
    c.send(struct.pack(">QII", IHAVEOPT, option, length) + payload)


# ------------------------------------------------- Memory before authentication

def amplification(srv, first_option):
    """16 clients announce 64 MiB payloads; then 16 announce the largest
    payload allowed and send half of it.  The server's memory stays small
    and it still serves a client."""
    base = rss_mib(srv)
    clients = []
    for _ in range(16):
        c = Client(srv.sock)
        c.newstyle_hello()
        announce_option(c, first_option, 64 * MIB)
        clients.append(c)
    for c in clients:
        opt, rtype, _ = c.reply()
        check(rtype == REP_ERR_TOO_BIG, "64 MiB option payload: NBD_REP_ERR_TOO_BIG")
        check(c.closed_by_server(), "client with a 64 MiB option payload is dropped")
        c.close()
    clients = []
    for _ in range(16):
        c = Client(srv.sock)
        c.newstyle_hello()
        # 4 + 4096 + 4 + 16 * (4 + 4096): the most a meta context option may carry.
        announce_option(c, OPT_LIST_META_CONTEXT, 69704, bytes(32 << 10))
        clients.append(c)
    grown = rss_mib(srv) - base
    check(grown < 32, "server RSS grew by %.1f MiB under 32 clients" % grown)
    for c in clients:
        c.close()
    still_serves(srv, tls_required=first_option == OPT_STARTTLS)


@test
def option_payload_amplification(srv):
    amplification(srv, OPT_GO)


@test
def option_payload_amplification_tls_required(srv):
    # Before STARTTLS: nothing the client sends is trusted yet.
    amplification(srv, OPT_STARTTLS)


@test
def oversized_names_refused(srv):
    c = Client(srv.sock)
    c.newstyle_hello()
    announce_option(c, OPT_EXPORT_NAME, 4097)
    opt, rtype, _ = c.reply()
    check(rtype == REP_ERR_TOO_BIG and c.closed_by_server(), "4097-byte export name")
    c.close()
    # A 4096-byte name is acceptable (and unknown to the memory plugin,
    # which serves any name).
    c = Client(srv.sock)
    c.newstyle_hello()
    check(c.go(b"x" * 4096)[-1][0] == REP_ACK, "4096-byte export name accepted")
    c.close()


@test
def handshake_timeout(srv):
    c = Client(srv.sock)
    c.newstyle_hello()
    announce_option(c, OPT_GO, 100, b"partial")  # and then nothing
    check(c.closed_by_server(), "idle client dropped by --timeout")
    c.close()
    still_serves(srv)


# ------------------------------------------------------------- Spec points

@test
def meta_context_query_with_nul(srv):
    c = Client(srv.sock)
    c.newstyle_hello()
    check(c.replies(OPT_STRUCTURED_REPLY)[-1][0] == REP_ACK, "structured replies")
    for query in (b"base:allocation\0", b"base:\0allocation", b"\0"):
        for option in (OPT_SET_META_CONTEXT, OPT_LIST_META_CONTEXT):
            replies = c.set_meta_context(query, option=option)
            check(replies == [(REP_ERR_INVALID, replies[-1][1])],
                  "query %r refused with NBD_REP_ERR_INVALID: %r" % (query, replies))
    check(c.set_meta_context(b"base:allocation")[-1][0] == REP_ACK, "clean query works")
    c.close()


def block_status(c, offset, count, cookie):
    c.request(CMD_BLOCK_STATUS, offset, count, cookie=cookie)
    flags, rtype, got_cookie, payload = c.chunk()
    check(rtype == REPLY_TYPE_BLOCK_STATUS, "block status reply, not %#x" % rtype)
    extents = [struct.unpack(">II", payload[i:i + 8]) for i in range(4, len(payload), 8)]
    return extents


@test
def block_status_at_32_bit_limits(srv):
    """The largest count a request can carry (2^32 - 1), at offsets that
    put its end on, before and after a 4 GiB boundary, with data on both
    sides of the boundary: every extent length is in 1..count and they do
    not run past the request (an off-by-one or a 32-bit wrap would)."""
    c = Client(srv.sock)
    c.connect_go(structured=True, meta=True)
    for offset in (4 << 30, (4 << 30) - 512):
        c.request(CMD_WRITE, offset, 512, cookie=1, data=b"\1" * 512)
        check(c.simple_reply()[0] == 0, "write near 4 GiB")
    for cookie, offset in enumerate((0, 1, 512, (4 << 30) - 1, 1 << 32), 2):
        count = 0xFFFFFFFF
        extents = block_status(c, offset, count, cookie)
        check(extents, "at least one extent")
        lengths = [length for length, _ in extents]
        check(all(0 < n <= count for n in lengths), "extent lengths %r" % lengths)
        check(sum(lengths) <= count, "extents %r run past the request" % lengths)
    c.close()


# ----------------------------------------------------------------- Shutdown

def backlog_reads(c, count):
    """Sends `count` 1 MiB reads at once (one write: the socket holds them
    all even though the server will not read while its replies wait)."""
    c.send(b"".join(struct.pack(">IHHQQI", REQUEST_MAGIC, 0, CMD_READ, 1 + i, i * MIB, MIB)
                    for i in range(count)))


def terminate(srv):
    srv.proc.send_signal(signal.SIGTERM)
    try:
        srv.proc.wait(EXIT_BOUND)
        return True
    except subprocess.TimeoutExpired:
        return False


@test
def shutdown_with_client_not_reading(srv):
    c = Client(srv.sock)
    c.connect_go()
    backlog_reads(c, 256)
    time.sleep(0.5)  # let the server fill the socket and block in send
    check(terminate(srv), "server exits after SIGTERM although its client stopped reading")
    c.close()


@test
def shutdown_answers_received_requests(srv):
    c = Client(srv.sock)
    c.connect_go(structured=True)
    backlog_reads(c, 64)
    time.sleep(0.5)  # the server has taken the requests and is blocked sending
    srv.proc.send_signal(signal.SIGTERM)
    answered = {}
    try:
        for _ in range(64):
            flags, rtype, cookie, payload = c.chunk()
            if rtype == REPLY_TYPE_ERROR:
                answered[cookie] = struct.unpack(">I", payload[:4])[0]
            else:
                answered[cookie] = 0
    except (Closed, ConnectionResetError):
        pass
    check(len(answered) == 64, "%d of 64 requests answered" % len(answered))
    check(set(answered.values()) <= {0, ESHUTDOWN},
          "answers are data or ESHUTDOWN: %r" % set(answered.values()))
    check(terminate(srv), "server exits")
    c.close()


# -------------------------------------------------------- Out of threads

def nproc_user():
    """A uid of no account, so that no other process counts against its
    RLIMIT_NPROC."""
    return str(61000 + os.getpid() % 4000)


@test
def thread_exhaustion(srv):
    """The server runs as an unused uid under RLIMIT_NPROC; clients beyond
    what it can serve are refused, and it serves again once they leave."""
    clients = []
    for _ in range(24):
        try:
            c = Client(srv.sock)
            c.newstyle_hello()
            clients.append(c)
        except (Closed, ConnectionResetError, AssertionError, OSError):
            pass
    check(srv.alive(), "server survives running out of threads")
    check(len(clients) < 24, "some clients were refused (%d served)" % len(clients))
    for c in clients:
        c.close()
    # The served clients' threads take a moment to end, longer under
    # sanitizers; meanwhile the listen backlog may be full (refused).
    for _ in range(100):
        try:
            c = Client(srv.sock)
            c.connect_go()
            c.request(CMD_WRITE, 0, 4, cookie=7, data=b"data")
            check(c.simple_reply()[:2] == (0, 7), "write after exhaustion")
            c.request(CMD_READ, 0, 4, cookie=8)
            check(c.simple_reply(4) == (0, 8, b"data"), "read after exhaustion")
            c.close()
            break
        except (Closed, ConnectionResetError, ConnectionRefusedError, AssertionError):
            time.sleep(0.1)
    else:
        check(False, "no client could be served after the others left")
    check("refusing it" in srv.output() or "worker threads" in srv.output(),
          "the refusal is logged")


def main():
    memory = ["memory", str(8 << 30)]
    psk = os.path.join(os.environ.get("TMPDIR", "/tmp"), "hardening-%d.psk" % os.getpid())
    with open(psk, "w") as f:
        f.write("alice:" + "0123456789abcdef" * 4 + "\n")
    try:
        with_server(["--tls=off"] + memory, [
            option_payload_amplification, oversized_names_refused, meta_context_query_with_nul,
            block_status_at_32_bit_limits])
        with_server(["--tls=require", "--tls-psk=" + psk] + memory,
                    [option_payload_amplification_tls_required])
    finally:
        os.unlink(psk)
    with_server(["--timeout=1"] + memory, [handshake_timeout])
    # Each shutdown test ends its server; with_server then finds it gone.
    for extra in ([], ["-D", "nbdkit.workers=1"]):
        with_server(extra + ["memory", "1G"], [shutdown_with_client_not_reading])
        with_server(extra + ["memory", "1G"], [shutdown_answers_received_requests])
    if os.geteuid() == 0 and shutil.which("setpriv") and shutil.which("prlimit"):
        uid = nproc_user()
        prefix = ("setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups",
                  "prlimit", "--nproc=12", "--")
        for extra in ([], ["-D", "nbdkit.workers=1"]):
            with_server(extra + ["memory", "1M"], [thread_exhaustion], prefix=prefix)
    else:
        print("SKIP thread_exhaustion: needs root, setpriv and prlimit")
    return exit_status()


if __name__ == "__main__":
    sys.exit(main())
