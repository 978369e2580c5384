#!/usr/bin/env bash
# exitwhen exit-when-script: status 0 is no event, 1-87 is an error that
# is logged and otherwise ignored, 88 is the event.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
require_commands nbdinfo

script=$TEST_TMPDIR/check.sh
cat >"$script" <<SH
#!/bin/sh
test -e $TEST_TMPDIR/event && exit 88
test -e $TEST_TMPDIR/broken && exit 3
exit 0
SH
chmod +x "$script"

start_server_unix --filter=exitwhen memory 1M exit-when-script="$script" exit-when-poll=1
server_log=$TEST_TMPDIR/server-0.log
connect_once "$server_uri"
expect_running "$server_pid" "a client while the script exits 0"

touch "$TEST_TMPDIR/broken"
connect_once "$server_uri"
expect_running "$server_pid" "a client while the script exits 3"
grep -q "exit-when-script" "$server_log" || fail "status 3 of the script was not logged"
rm "$TEST_TMPDIR/broken"

touch "$TEST_TMPDIR/event"
expect_server_exits_cleanly "$server_pid"
