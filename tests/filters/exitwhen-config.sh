#!/usr/bin/env bash
# exitwhen parameters: bad values are refused at start-up with a clear
# error (exit 1, the --run command never runs); no event leaves the
# filter inert.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"

expect_config_error() {
    local status=0
    "$NBDKIT" -U - --filter=exitwhen memory 1M "$@" --run 'echo ran' \
        >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" || status=$?
    ((status == 1)) || fail "$*: exit status $status, expected 1"
    grep -q ran "$TEST_TMPDIR/out" && fail "$*: the command ran"
    grep -q "${1%%=*}" "$TEST_TMPDIR/err" || fail "$*: error does not name the parameter"
}

expect_config_error exit-when-poll=-1
expect_config_error exit-when-poll=1.5
expect_config_error exit-when-poll=abc
expect_config_error exit-when-pipe-closed=abc
expect_config_error exit-when-process-exits=abc
expect_config_error exit-when-process-exits=-5

# A process that has already gone.
sleep 0 &
gone_pid=$!
wait "$gone_pid"
expect_config_error exit-when-process-exits="$gone_pid"

# No event: the filter does nothing, the server serves and stays up.
require_commands nbdinfo
start_server_unix --filter=exitwhen memory 1M exit-when-poll=1
connect_once "$server_uri"
connect_once "$server_uri"
expect_running "$server_pid" "clients with no event configured"

[[ $NBDKIT == /usr/bin/nbdkit ]] && exit 0
# Ours only: nbdkit 1.32 predates these.
"$NBDKIT" --filter=exitwhen memory --dump-plugin >"$TEST_TMPDIR/dump"
for event in file_created file_deleted pipe_closed process_exits script; do
    grep -qx "exitwhen_$event=yes" "$TEST_TMPDIR/dump" || fail "--dump-plugin lacks exitwhen_$event=yes"
done
# An fd that is not open is refused (nbdkit 1.32 logs an error and exits 0).
expect_config_error exit-when-pipe-closed=99
