#!/usr/bin/env bash
# The same operations through our blkio io_uring and Debian's nbdkit file
# plugin (Debian has no blkio plugin), each on its own copy of one file:
# the files must end up byte for byte the same.
. "$(dirname "$0")/functions.sh"
require_commands nbdsh qemu-img
require_io_uring
[ -x "$REFERENCE_NBDKIT" ] || skip "Debian's nbdkit is not installed"

original=$TEST_TMPDIR/original.img
truncate -s 32M "$original"
head -c 3M /dev/urandom | dd of="$original" bs=1M seek=5 conv=notrunc status=none
head -c 1M /dev/urandom | dd of="$original" bs=1M seek=20 conv=notrunc status=none

operations='
import random
rng = random.Random(42)
size = h.get_size()
for i in range(400):
    op = rng.choice(["write", "write", "zero", "zero-nohole", "trim", "read", "fua", "flush"])
    length = rng.choice([1, 512, 4096, 65536, 1 << 20, 4 << 20, rng.randrange(1, 200000)])
    offset = rng.randrange(0, size - length)
    if op == "write":
        h.pwrite(bytes([rng.randrange(256)]) * length, offset)
    elif op == "fua":
        h.pwrite(rng.randbytes(length), offset, nbd.CMD_FLAG_FUA)
    elif op == "zero":
        h.zero(length, offset)
    elif op == "zero-nohole":
        h.zero(length, offset, nbd.CMD_FLAG_NO_HOLE | nbd.CMD_FLAG_FUA)
    elif op == "trim":
        h.trim(length, offset)
    elif op == "flush":
        h.flush()
    else:
        h.pread(length, offset)
h.flush()
'

for which in ours reference; do
  cp --sparse=always "$original" "$TEST_TMPDIR/$which.img"
  if [ $which = ours ]; then
    start_server_unix blkio io_uring path="$TEST_TMPDIR/$which.img"
  else
    NBDKIT=$REFERENCE_NBDKIT start_server_unix file "$TEST_TMPDIR/$which.img"
  fi
  nbdsh -u "$server_uri" -c "$operations"
  nbdinfo "$server_uri" | grep -E 'export-size|is_read_only|can_(flush|fua|trim|zero)' \
    >"$TEST_TMPDIR/$which.info"
  stop_server "$server_pid"
done
cmp "$TEST_TMPDIR/ours.img" "$TEST_TMPDIR/reference.img" || fail "the files differ"
diff "$TEST_TMPDIR/ours.info" "$TEST_TMPDIR/reference.info" || fail "the capabilities differ"

# Both servers present the same content, as qemu-img sees it.
start_server_unix -r blkio io_uring path="$TEST_TMPDIR/ours.img"
ours_uri=$server_uri
NBDKIT=$REFERENCE_NBDKIT start_server_unix -r file "$TEST_TMPDIR/reference.img"
qemu-img compare "$ours_uri" "$server_uri" || fail "qemu-img compare"
echo "$0: PASS"
