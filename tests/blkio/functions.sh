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

# check_connect_error PATTERN DRIVER [PROPERTY=VALUE...]: failures only
# the device can tell come with the first connection: the client's
# connection fails, the server keeps running and its log says why.
check_connect_error() {
  local pattern=$1
  shift
  start_server_unix blkio "$@"
  nbdinfo "$server_uri" >/dev/null 2>&1 && fail "$*: the client connected"
  grep -qF -- "$pattern" "$TEST_TMPDIR/server-$((${#test_server_pids[@]} - 1)).log" ||
    fail "$*: server log lacks '$pattern'"
  process_alive "$server_pid" || fail "$*: the server exited"
  stop_server "$server_pid"
  echo "ok: $*: $pattern"
}
