# shellcheck shell=bash
# Sourced by the blkio plugin's script tests.
# The file plugin's helpers (blocks, nbd_errno, expect_error,
# $REFERENCE_NBDKIT) serve here too: both plugins are checked against
# Debian's nbdkit file plugin.
source "$(dirname "${BASH_SOURCE[0]}")/../file/functions.sh"

# require_io_uring: skip unless this build has the io_uring driver.
require_io_uring() {
  "$NBDKIT" blkio --dump-plugin | grep -qx 'blkio_driver_io_uring=yes' ||
    skip "this build has no io_uring driver (no liburing)"
}
