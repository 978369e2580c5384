#!/usr/bin/env bash
# nbdkit memory: capabilities as Debian's, data round trip, map, dump-plugin.
. "$(dirname "$0")/functions.sh"
require_commands nbdinfo nbdsh

start_server_unix memory 1M
nbdinfo "$server_uri" | grep -Ev 'uri:' > "$TEST_TMPDIR/ours.info"
if [ -x /usr/bin/nbdkit ]; then
  /usr/bin/nbdkit -U - memory 1M --run 'nbdinfo "$uri"' | grep -Ev 'uri:' > "$TEST_TMPDIR/debian.info"
  # Debian's 1.32 predates block-size reporting.
  grep -v block_size "$TEST_TMPDIR/ours.info" | diff -u "$TEST_TMPDIR/debian.info" - ||
    fail "nbdinfo differs from Debian's nbdkit"
fi

nbdsh -u "$server_uri" -c '
assert h.get_size() == 1048576
assert h.pread(1048576, 0) == bytes(1048576)
data = bytes(range(256)) * 300
h.pwrite(data, 70000)
assert h.pread(len(data), 70000) == data
h.pwrite(b"y" * 10, 500000, nbd.CMD_FLAG_FUA)
h.zero(10, 500000)
assert h.pread(10, 500000) == bytes(10)
h.trim(65536, 0)
h.flush()
h.cache(4096, 0)
assert h.get_block_size(nbd.SIZE_MINIMUM) == 1
assert h.get_block_size(nbd.SIZE_PREFERRED) == 65536
# The server caps the maximum at its 64 MiB request limit.
assert h.get_block_size(nbd.SIZE_MAXIMUM) == 64 << 20
' || fail "data calls"

# 70000..146800 touches pages 1 and 2 (64 KiB pages).
nbdinfo --map "$server_uri" > "$TEST_TMPDIR/map"
cat "$TEST_TMPDIR/map"
grep -Eq '^ +0 +65536 +3 +hole,zero$' "$TEST_TMPDIR/map" || fail "map: first page"
grep -Eq '^ +65536 +131072 +0 +data$' "$TEST_TMPDIR/map" || fail "map: data pages"
grep -Eq '^ +196608 +851968 +3 +hole,zero$' "$TEST_TMPDIR/map" || fail "map: tail"

"$NBDKIT" memory --dump-plugin > "$TEST_TMPDIR/dump"
grep -qx 'mlock=yes' "$TEST_TMPDIR/dump" || fail "--dump-plugin lacks mlock=yes"
grep -qx 'zstd=yes' "$TEST_TMPDIR/dump" || fail "--dump-plugin lacks zstd=yes"

# -D memory.dir=1 logs the pages that are freed.
"$NBDKIT" -v -D memory.dir=1 -U - memory 1M \
  --run 'nbdsh -u "$uri" -c "h.pwrite(b\"a\", 0); h.trim(65536, 0)"' 2>"$TEST_TMPDIR/debug" ||
  fail "-D memory.dir=1 run"
grep -q 'freed page' "$TEST_TMPDIR/debug" || fail "-D memory.dir=1 logged nothing"
echo "$0: PASS"
