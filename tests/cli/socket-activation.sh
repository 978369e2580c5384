#!/usr/bin/env bash
# systemd socket activation: LISTEN_PID (our own pid) and LISTEN_FDS
# hand over listening sockets from descriptor 3 on.
source "$(dirname "$0")/../lib/common.sh"
require_commands nbdinfo

# activate SOCKET ARGS...: execs nbdkit ARGS with SOCKET bound and listening
# on descriptor 3, as systemd would.  It replaces the calling shell (so
# `activate ... &` makes $! the server's pid); call it in a subshell.
activate() {
    local sock=$1
    shift
    exec /usr/bin/python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(8)
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ["LISTEN_PID"] = str(os.getpid())
os.environ["LISTEN_FDS"] = "1"
os.execv(sys.argv[2], sys.argv[2:])
' "$sock" "$NBDKIT" "$@"
}

sock=$TEST_TMPDIR/activated.sock
activate "$sock" -P "$TEST_TMPDIR/pid" null 1M </dev/null 2>"$TEST_TMPDIR/log" &
pid=$!
test_server_pids+=("$pid")
wait_for_pidfile "$TEST_TMPDIR/pid" "$pid" || fail "server did not start: $(cat "$TEST_TMPDIR/log")"
# Socket activation implies -f: the pidfile names the process started.
[[ $(<"$TEST_TMPDIR/pid") == "$pid" ]] || fail "pidfile $(<"$TEST_TMPDIR/pid") != $pid"
[[ $(nbdinfo --size "nbd+unix:///?socket=$sock") == 1048576 ]] || fail "nbdinfo"
# A second client on the same inherited socket.
[[ $(nbdinfo --size "nbd+unix:///?socket=$sock") == 1048576 ]] || fail "second client"
stop_server "$pid" || fail "SIGTERM: exit status $?"

# libnbd's subprocess syntax starts the server with socket activation.
[[ $(nbdinfo --size -- [ "$NBDKIT" null 1M ]) == 1048576 ]] || fail "nbdinfo [ nbdkit ]"

# Socket activation cannot be combined with options choosing other sockets.
for args in "-p 1" "-U $TEST_TMPDIR/other.sock" "-i 127.0.0.1"; do
    status=0
    # shellcheck disable=SC2086
    (activate "$TEST_TMPDIR/conflict.sock" $args null 1M) </dev/null 2>"$TEST_TMPDIR/log" || status=$?
    ((status == 1)) || fail "socket activation with $args: exit status $status"
    grep -q 'socket activation' "$TEST_TMPDIR/log" || fail "no message for $args"
    rm -f "$TEST_TMPDIR/conflict.sock"
done

# LISTEN_PID naming another process is not for us: a normal server.
LISTEN_PID=1 LISTEN_FDS=1 "$NBDKIT" --run 'nbdinfo --size "$uri"' null 1M >"$TEST_TMPDIR/out" ||
    fail "LISTEN_PID of another process changed behaviour"
[[ $(<"$TEST_TMPDIR/out") == 1048576 ]] || fail "foreign LISTEN_PID: $(<"$TEST_TMPDIR/out")"

echo PASS
