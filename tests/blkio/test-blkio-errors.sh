#!/usr/bin/env bash
# Bad command lines exit 1 at start-up with libblkio's messages; a device
# that cannot be opened fails the connection with the reason; errors
# from the file system keep their errno.
. "$(dirname "$0")/functions.sh"
require_commands nbdsh nbdinfo
require_io_uring

disk=$TEST_TMPDIR/disk.img
truncate -s 1M "$disk"
expect_error 'you must supply the driver=<DRIVER> parameter' blkio
expect_error 'Unknown driver name' blkio floppy path="$disk"
expect_error "'driver' property set more than once" blkio io_uring driver=io_uring path="$disk"
expect_error 'error setting property: colour=blue: Unknown property name' \
  blkio io_uring path="$disk" colour=blue
expect_error 'error setting property: capacity=1: Property is read-only' \
  blkio io_uring path="$disk" capacity=1
expect_error 'error setting property: direct=yes: Value must be "true" or "false"' \
  blkio io_uring path="$disk" direct=yes
expect_error 'error setting property: num-entries=lots: Value must be an integer' \
  blkio io_uring path="$disk" num-entries=lots
expect_error 'error setting property: num-queues=99999999999: Value must be an integer' \
  blkio io_uring path="$disk" num-queues=99999999999
expect_error 'error setting property: num-entries=0: num-entries must be greater than 0' \
  blkio io_uring path="$disk" num-entries=0
expect_error 'error setting property: fd=x: Value must be an integer' blkio io_uring fd=x
expect_error 'use the nbdkit -r flag' blkio io_uring path="$disk" read-only=true
expect_error 'No such file or directory' blkio io_uring path="$TEST_TMPDIR/missing"

# Failures only the device can tell come with the first connection.
check_connect_error 'Is a directory' io_uring path="$TEST_TMPDIR"
check_connect_error 'The file must be a block device or a regular file' io_uring path=/dev/null
check_connect_error 'path and fd cannot be set at the same time' io_uring path="$disk" fd=0
check_connect_error 'num-entries must be at most 32768' io_uring path="$disk" num-entries=40000
check_connect_error 'num-queues + num-poll-queues must be from 1' io_uring path="$disk" num-queues=0
check_connect_error 'num-poll-queues must be 0' io_uring path="$disk" num-poll-queues=1

# ENOSPC: a file larger than the small tmpfs it lives on.
mnt=$TEST_TMPDIR/mnt
mkdir "$mnt"
mount -t tmpfs -o size=1M nbdkit-test "$mnt" 2>/dev/null || skip "cannot mount a tmpfs here"
on_exit "umount '$mnt'"
truncate -s 8M "$mnt/disk.img"
start_server_unix blkio io_uring path="$mnt/disk.img"
got=$(nbd_errno "$server_uri" 'h.pwrite(b"x" * (4 << 20), 0)')
[ "$got" = ENOSPC ] || fail "write beyond the tmpfs: $got, expected ENOSPC"
# tmpfs has no ZERO_RANGE: the server writes the zeroes, which run out
# of space too; a fast zero fails at once.
got=$(nbd_errno "$server_uri" 'h.zero(4 << 20, 4 << 20, nbd.CMD_FLAG_NO_HOLE)')
[ "$got" = ENOSPC ] || fail "zero beyond the tmpfs: $got, expected ENOSPC"
got=$(nbd_errno "$server_uri" 'h.zero(4096, 0, nbd.CMD_FLAG_NO_HOLE | nbd.CMD_FLAG_FAST_ZERO)')
[ "$got" = ENOTSUP ] || fail "fast zero on tmpfs: $got, expected ENOTSUP"
# Before the tmpfs is unmounted.
stop_server "$server_pid"
echo "$0: PASS"
