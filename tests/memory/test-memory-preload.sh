#!/usr/bin/env bash
# preload=FILE: the disk starts with the image's contents, stored sparsely.
. "$(dirname "$0")/functions.sh"
require_commands nbdcopy nbdinfo

image=$TEST_TMPDIR/image.raw
truncate -s 40M "$image"
for at in 1 7 20 39; do
  head -c 1000000 /dev/urandom | dd of="$image" bs=1M seek="$at" conv=notrunc status=none
done
# An explicit block of zeroes: should not be stored either.
dd if=/dev/zero of="$image" bs=1M seek=30 count=2 conv=notrunc status=none

for allocator in sparse malloc zstd; do
  start_server_unix memory 64M allocator=$allocator preload="$image"
  rm -f "$TEST_TMPDIR/back.raw"
  nbdcopy "$server_uri" "$TEST_TMPDIR/back.raw"
  [ "$(md5sum < "$image")" = "$(head -c 40M "$TEST_TMPDIR/back.raw" | md5sum)" ] ||
    fail "allocator=$allocator: data read back differs from the image"
  [ "$(tail -c 24M "$TEST_TMPDIR/back.raw" | md5sum)" = "$(head -c 24M /dev/zero | md5sum)" ] ||
    fail "allocator=$allocator: the disk beyond the image is not zero"
done

# Only the data was stored (sparse): 4 runs of ~1 MB, nothing for the zeroes.
start_server_unix memory 64M preload="$image"
nbdinfo --map --totals "$server_uri" > "$TEST_TMPDIR/totals"
cat "$TEST_TMPDIR/totals"
data_bytes=$(awk '$4 == "data" { print $1 }' "$TEST_TMPDIR/totals")
[ "${data_bytes:-0}" -lt $(( 5 << 20 )) ] || fail "preload stored $data_bytes bytes of data"

# Relative paths are taken from where nbdkit was started.
(cd "$TEST_TMPDIR" && "$NBDKIT" -U - memory 64M preload=image.raw --run 'nbdinfo --size "$uri"') >/dev/null ||
  fail "relative preload path"

# Errors exit 1 before serving anything.
"$NBDKIT" -U - memory 1M preload="$image" --run 'echo served' >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" &&
  fail "preload larger than the disk accepted"
grep -q served "$TEST_TMPDIR/out" && fail "served despite the bad preload"
grep -qi 'larger' "$TEST_TMPDIR/err" || fail "no message for a too large preload: $(cat "$TEST_TMPDIR/err")"
"$NBDKIT" -U - memory 1M preload="$TEST_TMPDIR/missing" --run 'echo served' >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" &&
  fail "missing preload accepted"
grep -q served "$TEST_TMPDIR/out" && fail "served despite the missing preload"
grep -q 'missing' "$TEST_TMPDIR/err" || fail "no message for a missing preload: $(cat "$TEST_TMPDIR/err")"
echo "$0: PASS"
