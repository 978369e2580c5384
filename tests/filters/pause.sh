#!/usr/bin/env bash
# pause filter: with both servers, 'p' on the control socket is answered
# 'P' and holds a read sent afterwards, 'r' is answered 'R' and lets it
# finish; other characters get 'X'.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
require_commands /usr/bin/python3

for server in $(compared_servers); do
    control=$TEST_TMPDIR/control-${#test_server_pids[@]}.sock
    NBDKIT=$server start_server_unix --filter=pause memory 1M pause-control="$control"
    /usr/bin/python3 - "$server_uri" "$control" <<'PY' || fail "$server: pause and resume"
import socket, sys, threading
import nbd

uri, control = sys.argv[1:]
c = socket.socket(socket.AF_UNIX)
c.settimeout(30)
c.connect(control)

def command(letter):
    c.sendall(letter)
    return c.recv(1)

h = nbd.NBD()
h.connect_uri(uri)
h.pwrite(b"x" * 512, 0)
assert command(b"p") == b"P"
done = threading.Event()
def read():
    assert h.pread(512, 0) == b"x" * 512
    done.set()
reader = threading.Thread(target=read)
reader.start()
assert not done.wait(1), "the read went through while paused"
assert command(b"z") == b"X"
assert command(b"r") == b"R"
assert done.wait(30), "the read did not finish after resuming"
reader.join()
h.shutdown()
PY
    stop_server "$server_pid"
done

expect_bad_parameter "pause-control" --filter=pause memory 1M
