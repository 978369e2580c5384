#!/usr/bin/env bash
# Failures of the vhost-user back end: a socket path with nothing behind
# it is a clear error; a daemon killed mid-session fails the request with
# EIO at once (no hang) while the server keeps running and says why.
. "$(dirname "$0")/functions.sh"
require_commands nbdsh

# Nothing listening: the server does not serve, and the message names the
# socket and the reason.
missing=$TEST_TMPDIR/nothing.sock
if timeout 60 "$NBDKIT" -U - blkio virtio-blk-vhost-user path="$missing" \
        --run 'nbdsh -u "$uri" -c "h.pread(512, 0)"' 2>"$TEST_TMPDIR/missing.log"; then
    fail "a missing socket was served"
fi
grep -q "No such file or directory" "$TEST_TMPDIR/missing.log" ||
    fail "no clear error for a missing socket: $(cat "$TEST_TMPDIR/missing.log")"

# The daemon goes away while a client is connected.
disk=$TEST_TMPDIR/disk.raw
make_disk "$disk" 16M
start_qsd "$disk"
start_server_unix blkio virtio-blk-vhost-user path="$qsd_vhost"
kill_pid=$qsd_pid
export kill_pid
timeout 60 nbdsh -u "$server_uri" -c '
import errno, os, signal
assert len(h.pread(65536, 0)) == 65536
os.kill(int(os.environ["kill_pid"]), signal.SIGKILL)
failed = 0
for i in range(3):
    try:
        h.pread(65536, 0)
    except nbd.Error as e:
        assert e.errnum == errno.EIO, (e.errnum, e)
        failed += 1
assert failed == 3, failed
' || fail "requests after the daemon died did not fail cleanly"
process_alive "$server_pid" || fail "the server died with the back end"
grep -qi "back end\|vhost" "$TEST_TMPDIR/server-0.log" ||
    fail "the server did not say why: $(cat "$TEST_TMPDIR/server-0.log")"
echo "$0: PASS"
