#!/usr/bin/env bash
# nvme-io_uring on a host without NVMe: every way of pointing it at
# something that is not an NVMe namespace's generic character device
# fails with an error naming the path (the real device is tested in the
# guest tier, tests/guest).
. "$(dirname "$0")/functions.sh"
require_commands nbdinfo
"$NBDKIT" blkio --dump-plugin | grep -qx 'blkio_driver_nvme-io_uring=yes' ||
  skip "this build has no nvme-io_uring driver (no liburing)"

# A path that is not there: at start-up, like every driver's path.
expect_error "path=$TEST_TMPDIR/ng0n1: No such file or directory" \
  blkio nvme-io_uring path="$TEST_TMPDIR/ng0n1"

# What only opening it can tell: at the first connection.
disk=$TEST_TMPDIR/disk.img
truncate -s 1M "$disk"
check_connect_error "$disk: not a character device (nvme-io_uring needs an NVMe namespace's generic character device, such as /dev/ng0n1)" \
  nvme-io_uring path="$disk"
check_connect_error "/dev/null: not an NVMe generic character device (NVME_IOCTL_ID: Inappropriate ioctl for device)" \
  nvme-io_uring path=/dev/null
check_connect_error "$TEST_TMPDIR: Is a directory" nvme-io_uring path="$TEST_TMPDIR"
check_connect_error 'path and fd cannot be set at the same time' nvme-io_uring path=/dev/null fd=0
# Properties are checked at start-up as for the other drivers.
expect_error 'error setting property: num-entries=0: num-entries must be greater than 0' \
  blkio nvme-io_uring path=/dev/null num-entries=0
expect_error 'error setting property: direct=true: Unknown property name' \
  blkio nvme-io_uring path=/dev/null direct=true
echo "$0: PASS"
