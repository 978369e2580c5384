#!/usr/bin/python3
"""NBD conformance of the server in $NBDKIT, over raw sockets.

Passes against Debian's /usr/bin/nbdkit too (run with
NBDKIT=/usr/bin/nbdkit); where we intentionally differ the check accepts
both answers and says why.
"""

import os
import struct
import sys
import threading
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbd_client import *  # noqa: E402,F403

NBDKIT = os.environ.get("NBDKIT", "nbdkit")
SIZE = 128 << 20  # larger than the 64 MiB request limit
failures = []


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def test(fn):
    """Runs a test, recording its failure without stopping the others."""
    def run(*args):
        try:
            fn(*args)
            print("PASS", fn.__name__)
        except Exception:
            failures.append(fn.__name__)
            print("FAIL", fn.__name__)
            traceback.print_exc()
    run.__name__ = fn.__name__
    return run


# ------------------------------------------------------------- Handshake

@test
def fixed_newstyle_go(srv):
    c = Client(srv.sock)
    gflags = c.newstyle_hello()
    check(gflags == 3, "global flags FIXED_NEWSTYLE|NO_ZEROES, got %d" % gflags)
    replies = c.go()
    check(replies[-1][0] == REP_ACK, "GO acked")
    check(replies[0][0] == REP_INFO and replies[0][1][:2] == b"\0\0", "INFO_EXPORT first")
    _, size, eflags = struct.unpack(">HQH", replies[0][1])
    check(size == SIZE, "size %d" % size)
    check(eflags & 1, "HAS_FLAGS")
    check(not eflags & 2, "writable")
    check(not eflags & 0x80, "no DF without structured replies")
    c.request(CMD_WRITE, 4096, 5, data=b"hello")
    check(c.simple_reply()[0] == 0, "write")
    c.request(CMD_READ, 4096, 5, cookie=77)
    err, cookie, data = c.simple_reply(5)
    check((err, cookie, data) == (0, 77, b"hello"), "read back %r" % ((err, cookie, data),))
    c.close()


@test
def export_name_option(srv):
    c = Client(srv.sock)
    c.newstyle_hello(client_flags=1)  # without NO_ZEROES: 124 zero bytes follow
    c.option(OPT_EXPORT_NAME, b"")
    size, eflags = struct.unpack(">QH", c.recv(10))
    check(size == SIZE and eflags & 1, "export info")
    check(c.recv(124) == bytes(124), "zero padding")
    c.request(CMD_FLUSH)
    check(c.simple_reply()[0] == 0, "flush works")
    c.close()


@test
def oldstyle(srv):
    c = Client(srv.sock)
    magic, oldmagic, size, flags = struct.unpack(">QQQI", c.recv(28))
    check(magic == NBDMAGIC and oldmagic == OLDSTYLE_MAGIC, "oldstyle magic")
    check(size == SIZE and flags & 1, "size and flags")
    check(c.recv(124) == bytes(124), "zero padding")
    c.request(CMD_READ, 0, 512)
    check(c.simple_reply(512)[0] == 0, "read")
    c.close()


@test
def list_exports(srv):
    c = Client(srv.sock)
    c.newstyle_hello()
    replies = c.replies(OPT_LIST)
    check(replies[-1][0] == REP_ACK, "LIST acked")
    servers = [p for t, p in replies if t == REP_SERVER]
    check(len(servers) == 1, "one export")
    (namelen,) = struct.unpack(">I", servers[0][:4])
    check(namelen == 0, "default export name is empty")
    check(c.replies(OPT_LIST, b"x")[-1][0] == REP_ERR_INVALID, "LIST with data is invalid")
    c.close()


@test
def info_requests(srv):
    c = Client(srv.sock)
    c.newstyle_hello()
    replies = c.go(infos=(INFO_NAME, INFO_DESCRIPTION, INFO_BLOCK_SIZE), option=OPT_INFO)
    check(replies[-1][0] == REP_ACK, "INFO acked")
    infos = {struct.unpack(">H", p[:2])[0]: p[2:] for t, p in replies if t == REP_INFO}
    check(INFO_EXPORT in infos and INFO_NAME in infos, "export and name infos: %r" % infos)
    check(infos[INFO_NAME] == b"", "default export name")
    if INFO_BLOCK_SIZE in infos:
        minimum, preferred, maximum = struct.unpack(">III", infos[INFO_BLOCK_SIZE])
        check(minimum <= preferred <= maximum, "block sizes ordered")
    # INFO does not end negotiation: GO still works.
    check(c.go()[-1][0] == REP_ACK, "GO after INFO")
    c.request(CMD_READ, 0, 1)
    check(c.simple_reply(1)[0] == 0, "read after GO")
    # Malformed INFO: name length past the payload.
    c2 = Client(srv.sock)
    c2.newstyle_hello()
    check(c2.replies(OPT_INFO, struct.pack(">IH", 100, 0))[-1][0] == REP_ERR_INVALID,
          "malformed INFO is ERR_INVALID")
    c.close()
    c2.close()


@test
def structured_reply_and_meta_context(srv):
    c = Client(srv.sock)
    c.newstyle_hello()
    check(c.replies(OPT_SET_META_CONTEXT, struct.pack(">II", 0, 0))[-1][0] == REP_ERR_INVALID,
          "SET_META_CONTEXT needs structured replies")
    check(c.replies(OPT_STRUCTURED_REPLY, b"x")[-1][0] == REP_ERR_INVALID, "SR with data")
    check(c.replies(OPT_STRUCTURED_REPLY)[-1][0] == REP_ACK, "SR acked")
    listed = c.set_meta_context(option=OPT_LIST_META_CONTEXT)
    check(listed[-1][0] == REP_ACK, "LIST_META_CONTEXT acked")
    names = [p[4:] for t, p in listed if t == REP_META_CONTEXT]
    check(names == [b"base:allocation"], "lists base:allocation: %r" % names)
    listed = c.set_meta_context(b"base:", option=OPT_LIST_META_CONTEXT)
    check([p[4:] for t, p in listed if t == REP_META_CONTEXT] == [b"base:allocation"],
          "base: lists base:allocation")
    unknown = c.set_meta_context(b"x-unknown:thing")
    check(unknown == [(REP_ACK, b"")], "unknown context selects nothing")
    chosen = c.set_meta_context(b"base:allocation")
    check(chosen[-1][0] == REP_ACK and chosen[0][0] == REP_META_CONTEXT, "selected")
    context_id = struct.unpack(">I", chosen[0][1][:4])[0]
    replies = c.go()
    _, size, eflags = struct.unpack(">HQH", replies[0][1])
    check(eflags & 0x80, "DF advertised with structured replies")

    # A structured read: one OFFSET_DATA chunk.
    c.request(CMD_WRITE, 8192, 4, data=b"abcd")
    check(c.simple_reply()[0] == 0, "write")
    c.request(CMD_READ, 8190, 8, cookie=5, flags=FLAG_DF)
    flags, rtype, cookie, payload = c.chunk()
    check(flags & REPLY_FLAG_DONE and rtype == REPLY_TYPE_OFFSET_DATA and cookie == 5,
          "OFFSET_DATA chunk")
    check(payload == struct.pack(">Q", 8190) + b"\0\0abcd\0\0", "read data %r" % payload)

    # Block status, with and without REQ_ONE.
    c.request(CMD_BLOCK_STATUS, 0, 1 << 20, cookie=6)
    flags, rtype, cookie, payload = c.chunk()
    check(rtype == REPLY_TYPE_BLOCK_STATUS and flags & REPLY_FLAG_DONE, "block status chunk")
    check(struct.unpack(">I", payload[:4])[0] == context_id, "context id")
    lengths = [struct.unpack(">II", payload[i:i + 8])[0] for i in range(4, len(payload), 8)]
    check(len(lengths) >= 1 and sum(lengths) <= 1 << 20, "extents %r" % lengths)
    c.request(CMD_BLOCK_STATUS, 0, 1 << 20, cookie=7, flags=FLAG_REQ_ONE)
    flags, rtype, cookie, payload = c.chunk()
    check(rtype == REPLY_TYPE_BLOCK_STATUS and len(payload) == 12, "REQ_ONE gives one extent")

    # A read error is an error chunk.
    c.request(CMD_READ, SIZE, 1, cookie=8)
    flags, rtype, cookie, payload = c.chunk()
    check(rtype == REPLY_TYPE_ERROR and cookie == 8, "error chunk")
    check(struct.unpack(">I", payload[:4])[0] == EINVAL, "EINVAL")
    c.close()


@test
def block_status_without_meta_context(srv):
    c = Client(srv.sock)
    c.connect_go(structured=True)
    c.request(CMD_BLOCK_STATUS, 0, 512)
    flags, rtype, cookie, payload = c.chunk()
    check(rtype == REPLY_TYPE_ERROR and struct.unpack(">I", payload[:4])[0] == EINVAL,
          "EINVAL without base:allocation")
    c.close()


@test
def starttls_when_tls_off(srv):
    c = Client(srv.sock)
    c.newstyle_hello()
    # nbdkit built with GnuTLS answers ERR_POLICY; ERR_UNSUP is also per spec.
    rtype = c.replies(OPT_STARTTLS)[-1][0]
    check(rtype in (REP_ERR_POLICY, REP_ERR_UNSUP), "STARTTLS refused: %x" % rtype)
    check(c.go()[-1][0] == REP_ACK, "negotiation continues")
    c.close()


@test
def unknown_options(srv):
    c = Client(srv.sock)
    c.newstyle_hello()
    check(c.replies(99, b"payload")[-1][0] == REP_ERR_UNSUP, "unknown option")
    check(c.replies(OPT_EXTENDED_HEADERS)[-1][0] == REP_ERR_UNSUP, "extended headers")
    check(c.go()[-1][0] == REP_ACK, "still in step")
    c.close()


@test
def abort(srv):
    c = Client(srv.sock)
    c.newstyle_hello()
    c.option(OPT_ABORT)
    try:
        check(c.reply()[1] == REP_ACK, "ABORT acked")
    except Closed:
        pass  # the spec lets a server close without replying
    check(c.closed_by_server(), "closed after ABORT")
    c.close()


@test
def too_many_options(srv):
    c = Client(srv.sock)
    c.newstyle_hello()
    try:
        for _ in range(40):
            c.replies(99)
        check(False, "server allowed 40 options")
    except (Closed, ConnectionResetError, BrokenPipeError):
        pass
    c.close()


@test
def malformed_handshakes_drop_only_that_connection(srv):
    good = Client(srv.sock)
    good.connect_go()

    bad_magic = Client(srv.sock)
    bad_magic.newstyle_hello()
    bad_magic.send(struct.pack(">QII", 0x1234, OPT_GO, 0))
    check(bad_magic.closed_by_server(), "bad option magic drops")

    garbage = Client(srv.sock)
    garbage.recv(18)
    garbage.send(os.urandom(200))
    check(garbage.closed_by_server(), "garbage drops")

    bad_flags = Client(srv.sock)
    bad_flags.newstyle_hello(client_flags=0x80)
    check(bad_flags.closed_by_server(), "unknown client flags drop")

    midway = Client(srv.sock)
    midway.newstyle_hello()
    midway.send(struct.pack(">QII", IHAVEOPT, OPT_GO, 100) + b"\0\0")
    midway.close()

    for c in (bad_magic, garbage, bad_flags):
        c.close()
    good.request(CMD_READ, 0, 512)
    check(good.simple_reply(512)[0] == 0, "concurrent connection still works")
    good.close()
    check(srv.alive(), "server alive")


# ---------------------------------------------------------- Transmission

@test
def bad_requests_keep_stream_in_step(srv):
    c = Client(srv.sock)
    c.connect_go()

    def expect(cmd, offset, count, errors, flags=0, data=b"", what=""):
        c.request(cmd, offset, count, flags=flags, cookie=42, data=data)
        err, cookie, _ = c.simple_reply()
        check(cookie == 42 and err in errors, "%s: error %d, expected %r" % (what, err, errors))

    expect(CMD_READ, SIZE - 1, 2, {EINVAL}, what="read past end")
    expect(CMD_READ, SIZE + 4096, 1, {EINVAL}, what="read beyond end")
    expect(CMD_WRITE, SIZE - 1, 2, {ENOSPC}, data=b"xy", what="write past end")
    expect(CMD_WRITE_ZEROES, SIZE, 1, {ENOSPC}, what="zero past end")
    expect(CMD_TRIM, SIZE, 1, {EINVAL}, what="trim past end")
    expect(CMD_READ, 0, 0, {EINVAL}, what="zero-length read")
    expect(CMD_WRITE, 0, 0, {ENOSPC}, what="zero-length write")
    expect(CMD_FLUSH, 0, 5, {EINVAL}, what="flush with a count")
    expect(99, 0, 1, {EINVAL}, what="unknown command")
    expect(CMD_READ, 0, 1, {EINVAL}, flags=0x100, what="unknown flag")
    expect(CMD_READ, 0, 1, {EINVAL}, flags=FLAG_DF, what="DF without structured replies")
    expect(CMD_READ, 0, 1, {EINVAL}, flags=FLAG_NO_HOLE, what="NO_HOLE on read")
    expect(CMD_WRITE, 0, 3, {EINVAL}, flags=0x100, data=b"abc", what="write, unknown flag")
    # Too large: nbdkit answers ENOMEM (12); we answer EOVERFLOW (75), which
    # the spec suggests for a request over the maximum payload size.
    expect(CMD_READ, 0, (64 << 20) + 1, {12, 75}, what="oversized read")
    expect(CMD_WRITE, 0, (64 << 20) + 1, {12, 75}, data=bytes((64 << 20) + 1),
           what="oversized write")
    c.request(CMD_READ, 0, 4, cookie=9)
    check(c.simple_reply(4)[:2] == (0, 9), "valid request after bad ones")
    c.close()


@test
def zeroes_trim_cache_fua(srv):
    c = Client(srv.sock)
    size, eflags = c.connect_go()
    c.request(CMD_WRITE, 0, 8, flags=FLAG_FUA if eflags & 8 else 0, data=b"12345678")
    check(c.simple_reply()[0] == 0, "write")
    c.request(CMD_WRITE_ZEROES, 2, 4, flags=FLAG_NO_HOLE)
    check(c.simple_reply()[0] == 0, "write zeroes")
    c.request(CMD_READ, 0, 8)
    check(c.simple_reply(8)[2] == b"12\0\0\0\x0078", "zeroed")
    if eflags & (1 << 11):
        c.request(CMD_WRITE_ZEROES, 0, 4096, flags=FLAG_FAST_ZERO)
        check(c.simple_reply()[0] in (0, 95), "fast zero: done or ENOTSUP")
    if eflags & (1 << 5):
        c.request(CMD_TRIM, 0, 4096)
        check(c.simple_reply()[0] == 0, "trim")
    if eflags & (1 << 10):
        c.request(CMD_CACHE, 0, 1 << 20)
        check(c.simple_reply()[0] == 0, "cache")
    c.close()


@test
def pipelined_requests(srv):
    c = Client(srv.sock)
    c.connect_go()
    count = 64
    c.send(b"".join(struct.pack(">IHHQQI", REQUEST_MAGIC, 0, CMD_READ, i, i * 4096, 4096)
                    for i in range(count)))
    cookies = set()
    for _ in range(count):
        err, cookie, data = c.simple_reply(4096)
        check(err == 0 and len(data) == 4096, "read ok")
        cookies.add(cookie)
    check(cookies == set(range(count)), "every cookie answered once")
    c.close()


@test
def bad_request_magic_disconnects(srv):
    c = Client(srv.sock)
    c.connect_go()
    c.send(struct.pack(">IHHQQI", 0xDEADBEEF, 0, CMD_READ, 1, 0, 512))
    check(c.closed_by_server(), "bad magic disconnects")
    c.close()


@test
def client_disappears_mid_request(srv):
    c = Client(srv.sock)
    c.connect_go()
    c.request(CMD_WRITE, 0, 1 << 20, data=bytes(1000))
    c.close()
    c = Client(srv.sock)
    c.connect_go()
    c.request(CMD_READ, 0, 512)
    c.send(b"\x25\x60")  # half a header
    c.close()
    c = Client(srv.sock)
    c.connect_go()
    c.request(CMD_READ, 0, 512)
    check(c.simple_reply(512)[0] == 0, "server still serves")
    c.close()
    check(srv.alive(), "server alive")


@test
def disconnect(srv):
    c = Client(srv.sock)
    c.connect_go()
    c.request(CMD_WRITE, 0, 3, data=b"xyz")
    c.request(CMD_DISC)
    check(c.simple_reply()[0] == 0, "request before DISC answered")
    check(c.closed_by_server(), "server closes after DISC")
    c.close()


@test
def readonly_export(srv):
    c = Client(srv.sock)
    size, eflags = c.connect_go()
    check(eflags & 2, "READ_ONLY flag")
    check(not eflags & (1 << 5 | 1 << 6 | 1 << 3), "no trim/zero/fua on read-only")
    c.request(CMD_WRITE, 0, 4, data=b"nope", cookie=3)
    check(c.simple_reply()[:2] == (EPERM, 3), "write is EPERM")
    c.request(CMD_WRITE_ZEROES, 0, 4, cookie=4)
    check(c.simple_reply()[0] == EPERM, "zero is EPERM")
    # EPERM too when the request carries flags a read-only export does not
    # offer (issue 16; Debian's nbdkit answers EINVAL to these).
    cases = [(CMD_WRITE, FLAG_FUA), (CMD_TRIM, FLAG_FUA), (CMD_WRITE_ZEROES, FLAG_FAST_ZERO),
             (CMD_WRITE_ZEROES, FLAG_FUA | FLAG_NO_HOLE | FLAG_FAST_ZERO)]
    for cookie, (cmd, flags) in enumerate(cases, 10):
        c.request(cmd, 0, 4, flags=flags, cookie=cookie, data=b"nope" if cmd == CMD_WRITE else b"")
        check(c.simple_reply()[:2] == (EPERM, cookie), "cmd %d flags %#x: EPERM" % (cmd, flags))
    c.request(CMD_READ, 0, 4, cookie=5)
    check(c.simple_reply(4) == (0, 5, b"\0\0\0\0"), "payload was consumed, read works")
    c.close()


@test
def no_structured_replies(srv):
    c = Client(srv.sock)
    c.newstyle_hello()
    check(c.replies(OPT_STRUCTURED_REPLY)[-1][0] == REP_ERR_UNSUP, "--no-sr refuses SR")
    c.close()


@test
def masked_handshake(srv):
    c = Client(srv.sock)
    check(c.newstyle_hello(client_flags=0) == 0, "--mask-handshake=0 clears global flags")
    # Not fixed newstyle: only EXPORT_NAME, then size, flags and 124 zeroes.
    c.option(OPT_EXPORT_NAME, b"")
    size, eflags = struct.unpack(">QH", c.recv(10))
    check(size == SIZE and c.recv(124) == bytes(124), "export info with padding")
    c.close()


def with_server(args, tests, prefix=()):
    srv = Server(NBDKIT, *args, prefix=prefix)
    try:
        for t in tests:
            t(srv)
    finally:
        srv.stop()


def main():
    memory = ["memory", str(SIZE)]
    with_server(["--tls=off"] + memory, [
        fixed_newstyle_go, export_name_option, list_exports, info_requests,
        structured_reply_and_meta_context, block_status_without_meta_context,
        starttls_when_tls_off, unknown_options, abort, too_many_options,
        malformed_handshakes_drop_only_that_connection, bad_requests_keep_stream_in_step,
        zeroes_trim_cache_fua, pipelined_requests, bad_request_magic_disconnects,
        client_disappears_mid_request, disconnect])
    # The same requests executed by worker threads (the path taken by
    # plugins whose data calls may block).
    with_server(["-D", "nbdkit.workers=1"] + memory, [
        fixed_newstyle_go, structured_reply_and_meta_context, bad_requests_keep_stream_in_step,
        zeroes_trim_cache_fua, pipelined_requests, bad_request_magic_disconnects,
        client_disappears_mid_request, disconnect])
    with_server(["-o"] + memory, [oldstyle])
    with_server(["-r"] + memory, [readonly_export])
    with_server(["--no-sr"] + memory, [no_structured_replies])
    with_server(["--mask-handshake=0"] + memory, [masked_handshake])
    return exit_status()


def exit_status():
    if failures:
        print("FAILED:", " ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
