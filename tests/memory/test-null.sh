#!/usr/bin/env bash
# nbdkit null: same capabilities as Debian's, reads zeroes, discards writes.
. "$(dirname "$0")/functions.sh"
require_commands nbdinfo nbdsh

start_server_unix null 1M
ours=$server_uri
nbdinfo "$ours" | grep -Ev 'uri:' > "$TEST_TMPDIR/ours.info"
if [ -x /usr/bin/nbdkit ]; then
  /usr/bin/nbdkit -U - null 1M --run 'nbdinfo "$uri"' | grep -Ev 'uri:' > "$TEST_TMPDIR/debian.info"
  diff -u "$TEST_TMPDIR/debian.info" "$TEST_TMPDIR/ours.info" || fail "nbdinfo differs from Debian's nbdkit"
fi
grep -q 'export-size: 1048576' "$TEST_TMPDIR/ours.info" || fail "wrong size"

nbdsh -u "$ours" -c '
h.pwrite(b"\xff" * 4096, 8192)
assert h.pread(4096, 8192) == bytes(4096)
h.zero(65536, 0)
h.trim(65536, 0)
h.flush()
h.cache(4096, 0)
h.pwrite(b"x", 0, nbd.CMD_FLAG_FUA)
' || fail "data calls"

nbdinfo --map "$ours" | grep -Eq '^ +0 +1048576 +3 +hole,zero$' || fail "map is not one hole"

# No size: an empty disk, as with nbdkit.
start_server_unix null
[ "$(nbdinfo --size "$server_uri")" = 0 ] || fail "default size is not 0"

"$NBDKIT" -U - null 1M foo=bar --run true 2>"$TEST_TMPDIR/err" && fail "unknown parameter accepted"
grep -q "foo" "$TEST_TMPDIR/err" || fail "no message for an unknown parameter"
echo "$0: PASS"
