#!/usr/bin/env bash
# exitwhen exit-when-pipe-closed=FD: the server holds the read end of a
# pipe and exits once its only writer goes away.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
require_commands nbdinfo mkfifo

fifo=$TEST_TMPDIR/fifo
mkfifo "$fifo"
# The writer: opening a FIFO blocks until the other end is opened, so it
# starts in the background and the read end below completes the pair.
sleep 120 >"$fifo" &
writer_pid=$!
on_exit "kill $writer_pid 2>/dev/null"
exec 3<"$fifo"
start_server_unix --filter=exitwhen memory 1M exit-when-pipe-closed=3 exit-when-poll=1
exec 3<&-

connect_once "$server_uri"
echo "data in the pipe is not an event" >/proc/$writer_pid/fd/1
connect_once "$server_uri"
expect_running "$server_pid" "clients while the pipe is open"

kill "$writer_pid"
wait "$writer_pid" 2>/dev/null || true
expect_server_exits_cleanly "$server_pid"
