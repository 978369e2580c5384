#!/usr/bin/env bash
# SIGINT, SIGTERM and SIGQUIT shut the server down cleanly: the plugin's
# cleanup runs and the exit status is 0.  SIGPIPE is ignored.
source "$(dirname "$0")/../lib/common.sh"
require_commands nbdinfo

for sig in TERM INT QUIT; do
    pidfile=$TEST_TMPDIR/$sig.pid
    log=$TEST_TMPDIR/$sig.log
    # Started from a subshell with job control off, SIGINT and SIGQUIT
    # would be ignored by inheritance; nbdkit installs its own handlers.
    "$NBDKIT" -f -v -P "$pidfile" -U "$TEST_TMPDIR/$sig.sock" memory 1M </dev/null 2>"$log" &
    pid=$!
    test_server_pids+=("$pid")
    wait_for_pidfile "$pidfile" "$pid" || fail "server did not start: $(cat "$log")"
    nbdinfo --size "nbd+unix:///?socket=$TEST_TMPDIR/$sig.sock" >/dev/null
    kill -"$sig" "$pid"
    status=0
    for ((i = 0; i < 100; i++)); do
        process_alive "$pid" || break
        sleep 0.1
    done
    wait "$pid" || status=$?
    test_server_status[$pid]=$status
    ((status == 0)) || fail "SIG$sig: exit status $status"
    grep -q 'cleanup' "$log" || fail "SIG$sig: plugin cleanup did not run: $(cat "$log")"
done

# SIGPIPE does not kill it.
"$NBDKIT" -f -P "$TEST_TMPDIR/pipe.pid" -U "$TEST_TMPDIR/pipe.sock" null 1M </dev/null \
    2>"$TEST_TMPDIR/pipe.log" &
pid=$!
test_server_pids+=("$pid")
wait_for_pidfile "$TEST_TMPDIR/pipe.pid" "$pid" || fail "server did not start"
kill -PIPE "$pid"
[[ $(nbdinfo --size "nbd+unix:///?socket=$TEST_TMPDIR/pipe.sock") == 1048576 ]] ||
    fail "server gone after SIGPIPE"
stop_server "$pid" || fail "exit status $? after SIGPIPE"

echo PASS
