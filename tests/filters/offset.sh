#!/usr/bin/env bash
# offset and truncate filters: the bytes, sizes, writes and extents a
# client sees, compared with Debian's nbdkit on the same command lines.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdcopy nbdinfo /usr/bin/python3

ours=$NBDKIT
disk=$TEST_TMPDIR/disk
# 200 KiB: random data, then a hole, then data again.
head -c 65536 /dev/urandom >"$disk.orig"
truncate -s 135168 "$disk.orig"
head -c 69632 /dev/urandom >>"$disk.orig"
setup_each() { cp --sparse=always "$disk.orig" "$disk"; }

# offset: the window's bytes, its size, a write landing at the right place.
same_output offset-read --filter=offset file "$disk" offset=1k range=100k -- nbdcopy {} -
dd if="$disk.orig" bs=1k skip=1 count=100 status=none >"$TEST_TMPDIR/expected"
expect_same_file "offset read" "$TEST_TMPDIR/offset-read.out" "$TEST_TMPDIR/expected"
same_output offset-size --filter=offset file "$disk" offset=4096 -- nbdinfo --size {}
[[ $(cat "$TEST_TMPDIR/offset-size.out") == $((204800 - 4096)) ]] || fail "offset without range: wrong size"
same_output offset-map --filter=offset file "$disk" offset=32k range=160k -- nbdinfo --map {}
grep -q "hole" "$TEST_TMPDIR/offset-map.out" || fail "offset: the hole is not reported"
same_output offset-write --filter=offset file "$disk" offset=1000 range=10000 -- \
    nbd_ops {} write:24:512 read:9488:512
cmp -s <(head -c 1536 "$disk" | tail -c 512) <(head -c 512 /dev/zero | tr '\0' Z) ||
    fail "offset: the write did not land at 1000 + 24"
for NBDKIT in $(compared_servers); do
    open_fails "$NBDKIT offset beyond the end" "larger than" \
        --filter=offset file "$disk" offset=300k
    open_fails "$NBDKIT range beyond the end" "larger than" \
        --filter=offset file "$disk" offset=100k range=101k
done
NBDKIT=$ours

# truncate: shorter, longer (zeroes past the end, only zeroes may be
# written there), rounded up and down.
same_output truncate-short --filter=truncate file "$disk" truncate=1000 -- nbdcopy {} -
expect_same_file "truncate shorter" "$TEST_TMPDIR/truncate-short.out" <(head -c 1000 "$disk.orig")
same_output truncate-long --filter=truncate file "$disk" truncate=300k -- nbdcopy {} -
expect_same_file "truncate longer" "$TEST_TMPDIR/truncate-long.out" \
    <(cat "$disk.orig"; head -c $((102400)) /dev/zero)
same_output truncate-map --filter=truncate file "$disk" truncate=300k -- nbdinfo --map {}
same_output truncate-writes --filter=truncate file "$disk" truncate=300k -- \
    nbd_ops {} write:203776:1024 write:250000:512 zero:204000:4096 trim:0:4096
[[ $(tr '\n' ' ' <"$TEST_TMPDIR/truncate-writes.out") == "ok ENOSPC ok ok " ]] ||
    fail "truncate writes: $(cat "$TEST_TMPDIR/truncate-writes.out")"
same_output round-up --filter=truncate memory 1000 round-up=512 -- nbdinfo --size {}
[[ $(cat "$TEST_TMPDIR/round-up.out") == 1024 ]] || fail "round-up: wrong size"
same_output round-both --filter=truncate memory 5000 truncate=5000 round-down=1024 -- nbdinfo --size {}
[[ $(cat "$TEST_TMPDIR/round-both.out") == 4096 ]] || fail "round-down: wrong size"
for NBDKIT in $(compared_servers); do
    expect_bad_parameter "power of 2" --filter=truncate memory 1000 round-up=3
done
