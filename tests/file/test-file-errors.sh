#!/usr/bin/env bash
# Bad parameters exit 1 with a clear message; ENOSPC from the file system
# reaches the client as ENOSPC.
. "$(dirname "$0")/functions.sh"
require_commands nbdsh

disk=$TEST_TMPDIR/disk.img
truncate -s 1M "$disk"
mkfifo "$TEST_TMPDIR/fifo"
expect_error 'you must give' file
expect_error 'No such file' file "$TEST_TMPDIR/missing"
expect_error 'is a directory' file "$TEST_TMPDIR"
expect_error 'is a directory' file file="$TEST_TMPDIR"
expect_error 'not a regular file' file "$TEST_TMPDIR/fifo"
expect_error 'not a directory' file dir="$disk"
expect_error 'No such file' file dir="$TEST_TMPDIR/missing"
expect_error 'only one of' file "$disk" dir="$TEST_TMPDIR"
expect_error 'only one of' file "$disk" "$disk"
expect_error 'cache=' file "$disk" cache=sometimes
expect_error 'fadvise=' file "$disk" fadvise=often
expect_error 'unknown parameter' file "$disk" colour=blue
expect_error 'fd' file fd=-1
expect_error 'fd' file fd=abc
expect_error 'Bad file descriptor' file fd=200
expect_error 'Bad file descriptor' file dirfd=200
expect_error 'must not be empty' file file=

# ENOSPC: a file larger than the small tmpfs it lives on.
mnt=$TEST_TMPDIR/mnt
mkdir "$mnt"
mount -t tmpfs -o size=1M nbdkit-test "$mnt" 2>/dev/null || skip "cannot mount a tmpfs here"
on_exit "umount '$mnt'"
truncate -s 8M "$mnt/disk.img"
start_server_unix file "$mnt/disk.img"
got=$(nbd_errno "$server_uri" 'h.pwrite(b"x" * (4 << 20), 0)')
[ "$got" = ENOSPC ] || fail "write beyond the tmpfs: $got, expected ENOSPC"
got=$(nbd_errno "$server_uri" 'h.zero(4 << 20, 4 << 20, nbd.CMD_FLAG_NO_HOLE)')
[ "$got" = ENOSPC ] || fail "zero beyond the tmpfs: $got, expected ENOSPC"
# The server goes on serving what fits.
nbdsh -u "$server_uri" -c 'h.pwrite(b"fits", 0); assert h.pread(4, 0) == b"fits"'
stop_server "$server_pid"
echo "$0: PASS"
