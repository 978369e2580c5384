#!/usr/bin/env bash
# What the streaming plugin refuses, and how a broken stream behaves: a
# clear message, EIO for every later request, and nothing lost or
# overwritten.
source "$(dirname "$0")/functions.sh"
require_commands nbdinfo
/usr/bin/python3 -c 'import nbd' 2>/dev/null || skip "python3-libnbd is not installed"

# expect_startup_error MESSAGE ARGS...: the server refuses to start.
expect_startup_error() {
    local message=$1
    shift
    if "$NBDKIT" -U - streaming "$@" --run 'echo command ran' >startup.out 2>startup.log; then
        fail "nbdkit streaming $* started"
    fi
    ! grep -q 'command ran' startup.out || fail "nbdkit streaming $* ran the command"
    expect_in_log startup.log "$message"
}

expect_startup_error 'write=FILENAME' size=1G
expect_startup_error 'only one of' read=a.fifo write=b.fifo
expect_startup_error 'only one of' pipe=a.fifo pipe=b.fifo
expect_startup_error "unknown parameter 'bogus'" write=a.fifo bogus=1
expect_startup_error 'size' write=a.fifo size=12XB
echo precious > file.txt
expect_startup_error 'regular file' write=file.txt
[[ $(cat file.txt) == precious ]] || fail "write=file.txt changed the file"

# run_client URI PYTHON: runs PYTHON with h connected to URI and helpers
# expect_error(what, call) / expect_ok(call).
run_client() {
    /usr/bin/python3 - "$1" <<PY
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
def expect_error(what, call):
    try:
        call()
    except nbd.Error as e:
        return
    sys.exit("FAIL: %s succeeded" % what)
$2
PY
}

# -r with write= is refused when the client connects.
start_server_unix -r streaming write=/dev/null
nbdinfo "$server_uri" >/dev/null 2>&1 && fail "a read-only write= export served a client"
expect_in_log "$TEST_TMPDIR/server-0.log" 'do not use -r'

# A backward write breaks the stream for good.
mkfifo out.fifo
start_background reader1 sh -c 'cat out.fifo > got1'
start_server_unix streaming write=out.fifo
log=$TEST_TMPDIR/server-1.log
run_client "$server_uri" '
h.pwrite(b"a" * 65536, 0)
expect_error("a backward write", lambda: h.pwrite(b"b" * 512, 4096))
expect_error("a write after the error", lambda: h.pwrite(b"c" * 512, 65536))
expect_error("a flush after the error", lambda: h.flush())
'
expect_in_log "$log" 'wrote at offset 4096, below offset 65536'
expect_in_log "$log" 'stream is broken'
# New clients are refused too.
nbdinfo "$server_uri" >/dev/null 2>&1 && fail "a broken stream accepted a client"

# A read below what was written breaks the stream; above it reads zeroes.
mkfifo out2.fifo
start_background reader2 sh -c 'cat out2.fifo > got2'
start_server_unix streaming write=out2.fifo
log=$TEST_TMPDIR/server-2.log
run_client "$server_uri" '
h.pwrite(b"a" * 65536, 0)
assert h.pread(512, 65536) == bytes(512)
expect_error("a read below the written offset", lambda: h.pread(512, 0))
'
expect_in_log "$log" 'read at offset 0, below offset 65536'

# No reader ever opens the FIFO.
mkfifo lonely.fifo
start_server_unix streaming write=lonely.fifo reader-timeout=0.2
log=$TEST_TMPDIR/server-3.log
run_client "$server_uri" '
expect_error("a write without a reader", lambda: h.pwrite(b"a" * 512, 0))
'
expect_in_log "$log" 'no process opened FIFO .*lonely.fifo for reading'

# The reader goes away in the middle of the stream.
mkfifo out4.fifo
start_background reader4 sh -c 'head -c 1000 out4.fifo > /dev/null'
start_server_unix streaming write=out4.fifo
log=$TEST_TMPDIR/server-4.log
run_client "$server_uri" '
h.pwrite(b"a" * 4096, 0)
import time
for i in range(200):
    try:
        h.pwrite(b"a" * 65536, 4096 + i * 65536)
    except nbd.Error:
        break
    time.sleep(0.05)
else:
    sys.exit("FAIL: writes kept succeeding without a reader")
'
expect_in_log "$log" 'reader of .*out4.fifo has gone away'

# One client at a time; the next one continues the stream.
mkfifo out5.fifo
start_background reader5 sh -c 'cat out5.fifo > got5'
reader=$background_pid
start_server_unix streaming write=out5.fifo
run_client "$server_uri" '
h2 = nbd.NBD()
expect_error("a second client", lambda: h2.connect_uri(sys.argv[1]))
h.pwrite(b"1" * 4096, 0)
h.shutdown()
h3 = nbd.NBD()
h3.connect_uri(sys.argv[1])
h3.pwrite(b"2" * 4096, 4096)
h3.shutdown()
'
expect_in_log "$TEST_TMPDIR/server-5.log" 'another client is already streaming'
stop_server "$server_pid"
wait_background "$reader" "reader of out5.fifo"
[[ $(cat got5) == $(printf '1%.0s' {1..4096})$(printf '2%.0s' {1..4096}) ]] ||
    fail "two clients in a row did not make one stream"

# read= mode: a backward read beyond what the server keeps, then end of stream.
head -c $((4 << 20)) /dev/urandom > input
mkfifo in.fifo
start_background producer6 sh -c 'cat input > in.fifo'
start_server_unix streaming read=in.fifo
log=$TEST_TMPDIR/server-6.log
run_client "$server_uri" '
data = open("input", "rb").read()
for at in range(0, 3 << 20, 1 << 20):
    assert h.pread(1 << 20, at) == data[at:at + (1 << 20)]
expect_error("a backward read", lambda: h.pread(512, 3 << 19))
'
expect_in_log "$log" 'read at offset 1572864, but the stream has already passed it'

mkfifo in7.fifo
start_background producer7 sh -c 'cat input > in7.fifo'
start_server_unix streaming read=in7.fifo
log=$TEST_TMPDIR/server-7.log
run_client "$server_uri" '
expect_error("a read past the end of the stream", lambda: h.pread(1 << 20, 4 << 20))
'
expect_in_log "$log" 'end of stream'

echo "$0: PASS"
