#!/usr/bin/env bash
# Daemon mode with a relative path: the server changes directory when it
# forks, so path= must have been made absolute (nbdkit's own plugin does
# not, and fails).
. "$(dirname "$0")/functions.sh"
require_commands nbdsh
require_io_uring

cd "$TEST_TMPDIR"
truncate -s 1M disk.img
printf 'daemon' | dd of=disk.img conv=notrunc status=none
"$NBDKIT" -P "$TEST_TMPDIR/pid" -U "$TEST_TMPDIR/sock" blkio io_uring path=disk.img \
  2>"$TEST_TMPDIR/log" || fail "the server did not start: $(cat "$TEST_TMPDIR/log")"
pid=$(cat "$TEST_TMPDIR/pid")
# Not our child: stopped by PID at exit, without waiting for its status.
on_exit "kill $pid"
nbdsh -u "nbd+unix:///?socket=$TEST_TMPDIR/sock" -c 'assert h.pread(6, 0) == b"daemon"' ||
  fail "reading through the daemon"
kill "$pid"
for ((i = 0; i < 100; i++)); do
  process_alive "$pid" || break
  sleep 0.1
done
process_alive "$pid" && fail "the daemon did not exit on SIGTERM"
echo "$0: PASS"
