#!/usr/bin/env bash
# -r sets the driver's read-only property: the file is opened read-only
# (so a file nobody may write is served), writes are refused.
. "$(dirname "$0")/functions.sh"
require_commands nbdsh nbdinfo
require_io_uring

disk=$TEST_TMPDIR/disk.img
printf 'hello' | dd of="$disk" bs=1 seek=4096 conv=notrunc status=none
truncate -s 1M "$disk"
chmod 0444 "$disk"

start_server_unix -r blkio io_uring path="$disk"
nbdinfo "$server_uri" | grep -q 'is_read_only: true' || fail "-r: not read-only"
nbdinfo "$server_uri" | grep -q 'can_trim: false' || fail "-r: can trim"
nbdsh -u "$server_uri" -c 'assert h.pread(5, 4096) == b"hello"'
got=$(nbd_errno "$server_uri" 'h.pwrite(b"x", 0)')
[ "$got" = EPERM ] || fail "write with -r: $got, expected EPERM"
stop_server "$server_pid"

# Without -r the read-write open is refused, as the kernel says (unless
# we are root, who may write anyway).
if [ "$(id -u)" != 0 ]; then
  start_server_unix blkio io_uring path="$disk"
  nbdinfo "$server_uri" >/dev/null 2>&1 && fail "read-write open of a 0444 file succeeded"
  grep -q 'Permission denied' "$TEST_TMPDIR/server-1.log" || fail "no reason given"
fi

# A descriptor opened read-only makes the device read-only by itself.
chmod 0644 "$disk"
exec 7<"$disk"
start_server_unix blkio io_uring fd=7
exec 7<&-
nbdinfo "$server_uri" | grep -q 'is_read_only: true' || fail "fd=7 (O_RDONLY): not read-only"
nbdsh -u "$server_uri" -c 'assert h.pread(5, 4096) == b"hello"'
echo "$0: PASS"
