#!/usr/bin/env bash
# Without -f the server forks into the background: the command returns 0
# once the server accepts connections, and the pidfile (-P) names the
# background server.  With -f the pidfile names the process we started.
source "$(dirname "$0")/../lib/common.sh"
require_commands nbdinfo

# kill_daemon PID: SIGTERM a server that is not our child; wait until gone.
kill_daemon() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        process_alive "$pid" || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    return 1
}

# wait_for_file FILE: bounded wait (nbdkit 1.32 writes the pidfile after
# its parent has exited; ours before).
wait_for_file() {
    local i
    for ((i = 0; i < SERVER_START_TIMEOUT * 10; i++)); do
        [[ -s $1 ]] && return 0
        sleep 0.1
    done
    return 1
}

cd "$TEST_TMPDIR"
# A relative pidfile is relative to where nbdkit started, though the
# daemon changes directory to /.
"$NBDKIT" -P daemon.pid -U "$TEST_TMPDIR/daemon.sock" null 1M </dev/null ||
    fail "nbdkit without -f exited with $?"
wait_for_file daemon.pid || fail "no pidfile from the background server"
daemon_pid=$(<daemon.pid)
on_exit "kill_daemon $daemon_pid"
[[ $daemon_pid =~ ^[0-9]+$ ]] || fail "pidfile content: $daemon_pid"
process_alive "$daemon_pid" || fail "the pidfile's process $daemon_pid is not running"
[[ $(readlink "/proc/$daemon_pid/cwd") == / ]] || fail "the daemon did not chdir to /"

size=$(nbdinfo --size "nbd+unix:///?socket=$TEST_TMPDIR/daemon.sock")
[[ $size == 1048576 ]] || fail "background server: size $size"

kill_daemon "$daemon_pid" || fail "the background server ignored SIGTERM"

# --print-uri in the background: printed once the server is ready, and the
# command substitution does not hang on the daemon's stdout.
uri=$("$NBDKIT" --print-uri -P uri.pid -U "$TEST_TMPDIR/uri.sock" null 2M </dev/null)
wait_for_file uri.pid || fail "no pidfile from the second background server"
on_exit "kill_daemon $(<uri.pid)"
[[ $uri == "nbd+unix://?socket=$TEST_TMPDIR/uri.sock" ]] || fail "--print-uri: $uri"
[[ $(nbdinfo --size "$uri") == 2097152 ]] || fail "nbdinfo via the printed URI"
kill_daemon "$(<uri.pid)" || fail "the second background server ignored SIGTERM"
# The pidfile is left (as nbdkit does); the socket path is not ours to remove.

# -f: the pidfile names the foreground process itself, and it appears only
# once the server accepts connections.
"$NBDKIT" -f -P fg.pid -U "$TEST_TMPDIR/fg.sock" null 1M </dev/null 2>fg.log &
fg_pid=$!
test_server_pids+=("$fg_pid")
wait_for_pidfile fg.pid "$fg_pid" || fail "no pidfile with -f"
[[ $(<fg.pid) == "$fg_pid" ]] || fail "pidfile $(<fg.pid), server $fg_pid"
nbdinfo --size "nbd+unix:///?socket=$TEST_TMPDIR/fg.sock" >/dev/null ||
    fail "server not accepting once its pidfile exists"
stop_server "$fg_pid" || fail "SIGTERM: exit status $?"

echo PASS
