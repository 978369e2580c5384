# shellcheck shell=bash
# Sourced by the file plugin's script tests: the shared test helpers
# (servers by PID, $TEST_TMPDIR, fail, skip) plus what only these need.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

REFERENCE_NBDKIT=${REFERENCE_NBDKIT:-/usr/bin/nbdkit}

# blocks FILE: 512-byte blocks allocated to FILE.
blocks() {
  stat -c %b "$1"
}

# expect_blocks_below FILE LIMIT WHAT: fails unless FILE has fewer than
# LIMIT blocks allocated.
expect_blocks_below() {
  local n
  n=$(blocks "$1")
  ((n < $2)) || fail "$3: $1 has $n blocks allocated, expected fewer than $2"
}

# nbd_errno URI PYTHON: runs PYTHON in nbdsh against URI; it must raise
# nbd.Error; prints the errno name the server sent.
nbd_errno() {
  nbdsh -u "$1" -c "
import errno
try:
    $2
    print('no error')
except nbd.Error as e:
    print(errno.errorcode.get(e.errno, e.errno))
"
}
