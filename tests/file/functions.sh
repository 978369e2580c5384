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

# expect_error PATTERN ARGS...: "nbdkit -U - ARGS --run ..." exits 1 at
# start-up without serving, with PATTERN (any case) in its message.
expect_error() {
  local pattern=$1 status=0
  shift
  "$NBDKIT" -U - "$@" --run 'echo served' >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" || status=$?
  [ "$status" = 1 ] || fail "nbdkit $*: exit status $status, expected 1"
  grep -q served "$TEST_TMPDIR/out" && fail "nbdkit $*: served anyway"
  grep -qi -- "$pattern" "$TEST_TMPDIR/err" ||
    fail "nbdkit $*: message lacks '$pattern': $(cat "$TEST_TMPDIR/err")"
  echo "ok: nbdkit $*: $(head -1 "$TEST_TMPDIR/err")"
}
