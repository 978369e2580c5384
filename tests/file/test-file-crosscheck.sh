#!/usr/bin/env bash
# The same operations through our server and through Debian's nbdkit file
# plugin, each on its own copy of one file: the files must end up byte for
# byte the same, and the extent maps the clients see must match.
. "$(dirname "$0")/functions.sh"
require_commands nbdsh nbdinfo qemu-img
[ -x "$REFERENCE_NBDKIT" ] || skip "Debian's nbdkit is not installed"

original=$TEST_TMPDIR/original.img
truncate -s 32M "$original"
head -c 3M /dev/urandom | dd of="$original" bs=1M seek=5 conv=notrunc status=none
head -c 1M /dev/urandom | dd of="$original" bs=1M seek=20 conv=notrunc status=none

operations='
import random
rng = random.Random(42)
size = h.get_size()
for i in range(300):
    op = rng.choice(["write", "write", "zero", "zero-nohole", "trim", "read", "fua", "cache"])
    length = rng.choice([1, 512, 4096, 65536, 1 << 20, rng.randrange(1, 200000)])
    offset = rng.randrange(0, size - length)
    if op == "write":
        h.pwrite(bytes([rng.randrange(256)]) * length, offset)
    elif op == "fua":
        h.pwrite(rng.randbytes(length), offset, nbd.CMD_FLAG_FUA)
    elif op == "zero":
        h.zero(length, offset)
    elif op == "zero-nohole":
        h.zero(length, offset, nbd.CMD_FLAG_NO_HOLE)
    elif op == "trim":
        h.trim(length, offset)
    elif op == "cache":
        h.cache(length, offset)
    else:
        h.pread(length, offset)
h.flush()
'

for which in ours reference; do
  cp --sparse=always "$original" "$TEST_TMPDIR/$which.img"
  server=$NBDKIT
  [ $which = reference ] && server=$REFERENCE_NBDKIT
  NBDKIT=$server start_server_unix file "$TEST_TMPDIR/$which.img"
  nbdsh -u "$server_uri" -c "$operations"
  nbdinfo "$server_uri" | grep -E 'export-size|is_read_only|can_(flush|fua|trim|zero|multi_conn|cache)' \
    >"$TEST_TMPDIR/$which.info"
  # A map of the data as the client sees it: runs of zeroes versus data.
  nbdinfo --map --totals "$server_uri" >"$TEST_TMPDIR/$which.totals"
  stop_server "$server_pid"
done
cmp "$TEST_TMPDIR/ours.img" "$TEST_TMPDIR/reference.img" || fail "the files differ"
diff "$TEST_TMPDIR/ours.info" "$TEST_TMPDIR/reference.info" || fail "the capabilities differ"
# Both use the same calls (punch hole, zero range), so the file systems
# allocate alike and the maps agree.
diff "$TEST_TMPDIR/ours.totals" "$TEST_TMPDIR/reference.totals" || fail "the extent totals differ"

# Read-only cross-check through qemu-img: both servers present the same
# content.
start_server_unix -r file "$TEST_TMPDIR/ours.img"
ours_uri=$server_uri
NBDKIT=$REFERENCE_NBDKIT start_server_unix -r file "$TEST_TMPDIR/ours.img"
qemu-img compare "$ours_uri" "$server_uri" || fail "qemu-img compare"
echo "$0: PASS"
