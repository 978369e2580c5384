#!/usr/bin/env bash
# The data plugin's parameters and disk: sizes, sparseness (extents show
# the holes, a byte at 1 TiB costs almost no memory), writes, -r,
# variables from the environment, --dump-plugin, and clear errors.
source "$(dirname "$0")/functions.sh"
require_commands nbdcopy nbdinfo nbdsh

size_of() { "$NBDKIT" -U - data "$@" --run 'nbdinfo --size "$uri"'; }
[[ $(size_of '1 2 3') == 3 ]] || fail "size of '1 2 3'"
[[ $(size_of '1 2 3' size=1M) == 1048576 ]] || fail "size=1M"
[[ $(size_of '@1099511627776 1' size=2T) == 2199023255552 ]] || fail "size=2T"
[[ $(size_of raw=hello) == 5 ]] || fail "raw size"
[[ $(size_of data=) == 0 ]] || fail "empty data"

# Sparse: holes read as holes, and the byte at 1 TiB takes almost nothing.
start_server_unix data '1 @1048576 2 @4194304'
nbdinfo --map "$server_uri" >"$TEST_TMPDIR/map"
cat "$TEST_TMPDIR/map"
grep -q 'hole' "$TEST_TMPDIR/map" || fail "no hole in the extents"
data_bytes=$(nbdinfo --map --totals "$server_uri" | awk '$4 == "data" { print $1 }')
((data_bytes <= 262144)) || fail "$data_bytes bytes of data for 2 bytes written"
start_server_unix data '@1099511627776 1 @0x10000000000 2' size=2T
rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$server_pid/status")
((rss_kb < 200000)) || fail "a byte at 1 TiB costs $rss_kb KiB of RSS"
nbdsh -u "$server_uri" -c '
assert h.pread(2, 1099511627775) == b"\x00\x02"
assert h.pread(4, 0) == bytes(4)
'

# Every allocator holds the same data and is writable; -r is read-only.
for allocator in sparse malloc zstd; do
  start_server_unix data '(0x55 0xAA)*4 @1048576 "end"' allocator=$allocator
  nbdsh -u "$server_uri" -c '
assert h.get_size() == 1048579
assert h.pread(4, 0) == b"\x55\xaa\x55\xaa"
assert h.pread(3, 1048576) == b"end"
h.pwrite(b"new", 100)
assert h.pread(3, 100) == b"new"
h.trim(65536, 0)
h.zero(3, 1048576)
assert h.pread(3, 1048576) == bytes(3)
' || fail "allocator=$allocator"
done
start_server_unix -r data '1 2 3'
nbdsh -u "$server_uri" -c '
assert h.is_read_only()
try:
    h.pwrite(b"x", 0)
    assert False
except nbd.Error:
    pass
'

# $VAR from the environment; a parameter wins over it.
pattern='0x41 0x42' "$NBDKIT" -U - data '$pattern*2' --run 'nbdcopy "$uri" -' >"$TEST_TMPDIR/env.bin"
[[ $(cat "$TEST_TMPDIR/env.bin") == ABAB ]] || fail "variable from the environment"
pattern=1 "$NBDKIT" -U - data '$pattern' pattern=0x43 --run 'nbdcopy "$uri" -' >"$TEST_TMPDIR/env.bin"
[[ $(cat "$TEST_TMPDIR/env.bin") == C ]] || fail "a parameter should win over the environment"

# Relative <FILE names are taken from where nbdkit was started.
printf xyz >"$TEST_TMPDIR/file"
(cd "$TEST_TMPDIR" && "$NBDKIT" -U - data '<file' --run 'nbdcopy "$uri" -') >"$TEST_TMPDIR/out.bin"
[[ $(cat "$TEST_TMPDIR/out.bin") == xyz ]] || fail "relative <FILE"

"$NBDKIT" data --dump-plugin | grep -qx 'data_base64=yes' || fail "--dump-plugin lacks data_base64=yes"
"$NBDKIT" data --help | grep -q 'base64' || fail "--help lacks the parameters"

# Errors: exit 1 before serving, with a message that says where.
expect_error() {
  local pattern=$1
  shift
  local status=0
  "$NBDKIT" -U - data "$@" --run 'echo served' >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" || status=$?
  ((status == 1)) || fail "data $*: exit status $status, not 1"
  grep -q served "$TEST_TMPDIR/out" && fail "data $*: served"
  grep -q -- "$pattern" "$TEST_TMPDIR/err" || fail "data $*: message lacks '$pattern': $(cat "$TEST_TMPDIR/err")"
}
expect_error 'offset 6' '1 2 3 foo'
expect_error "unmatched '('" '(1 2'
expect_error 'range 0..255' '0x100'
expect_error 'not defined' '\nothing'
expect_error '\$nothing: variable not found' '$nothing'
expect_error 'nonexistent' '</nonexistent'
expect_error 'exit status 3' '<(exit 3)'
expect_error 'not valid base64' base64=MTI
expect_error 'only one of' 1 raw=2
expect_error 'must be given' size=1M
expect_error 'unknown allocator' 1 allocator=foo
echo "$0: PASS"
