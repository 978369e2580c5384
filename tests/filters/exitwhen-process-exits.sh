#!/usr/bin/env bash
# exitwhen exit-when-process-exits=PID: serves until that process exits.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
require_commands nbdinfo

sleep 120 &
watched_pid=$!
on_exit "kill $watched_pid 2>/dev/null"
start_server_unix --filter=exitwhen memory 1M exit-when-process-exits="$watched_pid" exit-when-poll=1
connect_once "$server_uri"
expect_running "$server_pid" "a client while the process runs"

kill "$watched_pid"
wait "$watched_pid" 2>/dev/null || true
expect_server_exits_cleanly "$server_pid"
