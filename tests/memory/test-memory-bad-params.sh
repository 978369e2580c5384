#!/usr/bin/env bash
# Bad parameters exit 1 with a clear message and serve nothing.
. "$(dirname "$0")/functions.sh"

# expect_error PATTERN ARGS...
expect_error() {
  local pattern=$1
  shift
  local status=0
  "$NBDKIT" -U - "$@" --run 'echo served' >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" || status=$?
  [ "$status" = 1 ] || fail "nbdkit $*: exit status $status, expected 1"
  grep -q served "$TEST_TMPDIR/out" && fail "nbdkit $*: served anyway"
  grep -qi -- "$pattern" "$TEST_TMPDIR/err" || fail "nbdkit $*: message lacks '$pattern': $(cat "$TEST_TMPDIR/err")"
  echo "ok: nbdkit $*: $(head -1 "$TEST_TMPDIR/err")"
}

expect_error 'you must specify size=' memory
expect_error 'you must specify size=' memory allocator=sparse
expect_error 'size' memory size=foo
expect_error 'size' memory 1M2
expect_error 'size' memory -- -1
expect_error 'size' memory 8E
expect_error 'unknown allocator' memory 1M allocator=foo
expect_error 'unknown parameter' memory 1M allocator=malloc,=1
expect_error 'does not take extra parameters' memory 1M allocator=sparse,x=1
expect_error 'does not take extra parameters' memory 1M allocator=zstd,mlock=true
expect_error 'unknown parameter' memory 1M allocator=malloc,foo
expect_error 'mlock' memory 1M allocator=malloc,mlock=maybe
expect_error 'unknown parameter' memory 1M foo=1
expect_error 'malloc' memory 1E allocator=malloc
if [ "$(ulimit -l)" != unlimited ] && [ "$(id -u)" != 0 ]; then
  expect_error 'mlock' memory 4G allocator=malloc,mlock=true
fi
echo "$0: PASS"
