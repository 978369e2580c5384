#!/usr/bin/env bash
# exitwhen exit-when-file-created: serves until the file appears, then
# exits by itself; exits at once if the file exists at start.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
require_commands nbdinfo

stop_file=$TEST_TMPDIR/stop
start_server_unix --filter=exitwhen memory 1M exit-when-file-created="$stop_file" exit-when-poll=1
connect_once "$server_uri"
expect_running "$server_pid" "a client while the file does not exist"
touch "$stop_file"
expect_server_exits_cleanly "$server_pid"

# The file already exists: the server exits without any client, maybe
# before it has written a pidfile, so it is not started with the helper.
"$NBDKIT" -f -U "$TEST_TMPDIR/early.sock" --filter=exitwhen memory 1M \
    exit-when-file-created="$stop_file" exit-when-poll=1 </dev/null 2>"$TEST_TMPDIR/early.log" &
early_pid=$!
test_server_pids+=("$early_pid")
expect_server_exits_cleanly "$early_pid"
