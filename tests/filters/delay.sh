#!/usr/bin/env bash
# delay filter: the man page's example serves correctly (against Debian's
# nbdkit too); a delayed request is cut short when the client hangs up or
# the server is stopped (the stop fails the test if it needs SIGKILL).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
require_commands /usr/bin/python3

ours=$NBDKIT
for NBDKIT in $(compared_servers); do
    start_server_unix --filter=delay memory 1M rdelay=100ms wdelay=100ms
    expect_ops "$NBDKIT delayed" "ok ok ok ok" "$server_uri" \
        write:0:512 read:0:512 zero:0:512 trim:0:512
    stop_server "$server_pid"

    # A request that would wait an hour: SIGTERM must still stop the server
    # (stop_server reports 137 if it had to use SIGKILL).
    start_server_unix --filter=delay memory 1M delay-read=3600
    nbd_ops "$server_uri" read:0:512 >/dev/null 2>&1 &
    client=$!
    on_exit "kill $client 2>/dev/null"
    sleep 0.5
    stop_server "$server_pid" || fail "$NBDKIT: stopping during a delay gave status $?"
    wait "$client" 2>/dev/null || true
done

NBDKIT=$ours
# Ours: a client hanging up ends its delayed request at once.
n=${#test_server_pids[@]}
start_server_unix -v --filter=delay memory 1M delay-read=3600
# Not through the nbd_ops function: the kill must reach python itself.
/usr/bin/python3 "$TESTS_DIR/filters/nbd_ops.py" "$server_uri" read:0:512 >/dev/null 2>&1 &
client=$!
wait_for_log_line "$TEST_TMPDIR/server-$n.log" "delay: read: waiting"
kill "$client"
wait "$client" 2>/dev/null || true
wait_for_log_line "$TEST_TMPDIR/server-$n.log" "sleep interrupted: the client disconnected"
expect_ops "after a hang-up" "ok" "$server_uri" write:0:512
stop_server "$server_pid"

expect_bad_parameter "rdelay" --filter=delay memory 1M rdelay=soon
expect_bad_parameter "delay-fast-zero" --filter=delay memory 1M delay-fast-zero=maybe
