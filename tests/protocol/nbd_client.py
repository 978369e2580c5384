"""A minimal raw NBD client for conformance tests: it speaks the wire
protocol byte by byte (no libnbd), so tests can also send what a
well-behaved client never would."""

import os
import socket
import struct
import subprocess
import tempfile
import time

NBDMAGIC = 0x4E42444D41474943
IHAVEOPT = 0x49484156454F5054
OLDSTYLE_MAGIC = 0x0000420281861253
REPLY_MAGIC = 0x0003E889045565A9
REQUEST_MAGIC = 0x25609513
SIMPLE_REPLY_MAGIC = 0x67446698
STRUCTURED_REPLY_MAGIC = 0x668E33EF

OPT_EXPORT_NAME, OPT_ABORT, OPT_LIST, OPT_STARTTLS = 1, 2, 3, 5
OPT_INFO, OPT_GO, OPT_STRUCTURED_REPLY = 6, 7, 8
OPT_LIST_META_CONTEXT, OPT_SET_META_CONTEXT, OPT_EXTENDED_HEADERS = 9, 10, 11

REP_ACK, REP_SERVER, REP_INFO, REP_META_CONTEXT = 1, 2, 3, 4
REP_ERR_UNSUP = 0x80000001
REP_ERR_POLICY = 0x80000002
REP_ERR_INVALID = 0x80000003
REP_ERR_TLS_REQD = 0x80000005
REP_ERR_TOO_BIG = 0x80000009

INFO_EXPORT, INFO_NAME, INFO_DESCRIPTION, INFO_BLOCK_SIZE = 0, 1, 2, 3

CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH, CMD_TRIM = 0, 1, 2, 3, 4
CMD_CACHE, CMD_WRITE_ZEROES, CMD_BLOCK_STATUS = 5, 6, 7
FLAG_FUA, FLAG_NO_HOLE, FLAG_DF, FLAG_REQ_ONE, FLAG_FAST_ZERO = 1, 2, 4, 8, 16

REPLY_FLAG_DONE = 1
REPLY_TYPE_OFFSET_DATA, REPLY_TYPE_BLOCK_STATUS = 1, 5
REPLY_TYPE_ERROR = 0x8001

EPERM, EINVAL, ENOSPC, ESHUTDOWN = 1, 22, 28, 108

TIMEOUT = 10  # seconds any single socket operation may take


class Server:
    """Runs `$NBDKIT -f -U SOCKET ARGS...` and stops it by pid."""

    def __init__(self, binary, *args, prefix=()):
        """`prefix` runs the server through a command such as setpriv or
        prlimit; the socket directory is then open to any user."""
        self.dir = tempfile.mkdtemp(prefix="nbd-proto-")
        if prefix:
            os.chmod(self.dir, 0o777)
        self.sock = os.path.join(self.dir, "sock")
        self.log = open(os.path.join(self.dir, "log"), "w+")
        self.proc = subprocess.Popen([*prefix, binary, "-f", "-U", self.sock, *args],
                                     stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(self.sock):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("server did not start: " + self.output())
            time.sleep(0.02)

    def output(self):
        self.log.seek(0)
        return self.log.read()

    def alive(self):
        return self.proc.poll() is None

    def status(self, field):
        """A numeric field of /proc/PID/status (VmRSS in KiB, Threads)."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise KeyError(field)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        for name in ("sock", "log"):
            try:
                os.unlink(os.path.join(self.dir, name))
            except FileNotFoundError:
                pass
        os.rmdir(self.dir)


class Closed(Exception):
    """The server closed the connection."""


class Client:
    def __init__(self, sock_path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(TIMEOUT)
        self.s.connect(sock_path)

    def close(self):
        self.s.close()

    def recv(self, n):
        data = b""
        while len(data) < n:
            chunk = self.s.recv(n - len(data))
            if not chunk:
                raise Closed("after %d of %d bytes" % (len(data), n))
            data += chunk
        return data

    def send(self, data):
        self.s.sendall(data)

    def closed_by_server(self):
        """True when the server closes (or resets) the connection."""
        try:
            return self.s.recv(1) == b""
        except ConnectionResetError:
            return True

    # ---- Handshake ----
    def newstyle_hello(self, client_flags=3):
        magic, opt_magic, gflags = struct.unpack(">QQH", self.recv(18))
        assert magic == NBDMAGIC and opt_magic == IHAVEOPT, "bad newstyle greeting"
        self.send(struct.pack(">I", client_flags))
        return gflags

    def option(self, option, data=b""):
        self.send(struct.pack(">QII", IHAVEOPT, option, len(data)) + data)

    def reply(self):
        magic, option, rtype, length = struct.unpack(">QIII", self.recv(20))
        assert magic == REPLY_MAGIC, "bad option reply magic %x" % magic
        return option, rtype, self.recv(length)

    def replies(self, option, data=b""):
        """Sends an option; returns all replies up to the final one."""
        self.option(option, data)
        out = []
        while True:
            opt, rtype, payload = self.reply()
            assert opt == option, "reply to option %d, expected %d" % (opt, option)
            out.append((rtype, payload))
            if rtype == REP_ACK or rtype & 0x80000000:
                return out

    def go(self, name=b"", infos=(), option=OPT_GO):
        data = struct.pack(">I", len(name)) + name + struct.pack(">H", len(infos))
        data += b"".join(struct.pack(">H", i) for i in infos)
        return self.replies(option, data)

    def set_meta_context(self, *queries, name=b"", option=OPT_SET_META_CONTEXT):
        data = struct.pack(">I", len(name)) + name + struct.pack(">I", len(queries))
        data += b"".join(struct.pack(">I", len(q)) + q for q in queries)
        return self.replies(option, data)

    def connect_go(self, structured=False, meta=False):
        """Handshake up to transmission; returns (size, eflags)."""
        self.newstyle_hello()
        if structured:
            assert self.replies(OPT_STRUCTURED_REPLY)[-1][0] == REP_ACK
        if meta:
            assert self.set_meta_context(b"base:allocation")[-1][0] == REP_ACK
        replies = self.go()
        assert replies[-1][0] == REP_ACK, replies
        info = [p for t, p in replies if t == REP_INFO and p[:2] == b"\0\0"][0]
        _, size, eflags = struct.unpack(">HQH", info)
        return size, eflags

    # ---- Transmission ----
    def request(self, cmd, offset=0, count=0, flags=0, cookie=1, data=b""):
        self.send(struct.pack(">IHHQQI", REQUEST_MAGIC, flags, cmd, cookie, offset, count) + data)

    def simple_reply(self, read_count=0):
        magic, error, cookie = struct.unpack(">IIQ", self.recv(16))
        assert magic == SIMPLE_REPLY_MAGIC, "expected a simple reply, magic %x" % magic
        data = self.recv(read_count) if error == 0 and read_count else b""
        return error, cookie, data

    def chunk(self):
        magic, flags, rtype, cookie, length = struct.unpack(">IHHQI", self.recv(20))
        assert magic == STRUCTURED_REPLY_MAGIC, "expected a chunk, magic %x" % magic
        return flags, rtype, cookie, self.recv(length)
