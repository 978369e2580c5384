#!/usr/bin/env bash
# cow filter: writes, zeroes and trims (aligned or not, across the short
# final block) land in the overlay and never in the file; extents merge
# the overlay with the file's holes; every connection sees one overlay;
# cow-on-read and cow-on-cache.  The bytes a client sees are compared with
# Debian's nbdkit on the same command lines and requests.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
ours=$NBDKIT
require_commands nbdcopy nbdinfo /usr/bin/python3

disk=$TEST_TMPDIR/disk
# 300000 bytes: not a multiple of the 64 KiB block.  Data, hole, data.
head -c 100000 /dev/urandom >"$disk"
truncate -s 200000 "$disk"
head -c 100000 /dev/urandom >>"$disk"
sum_before=$(md5sum <"$disk")

# Requests, then the whole disk read back, on one connection.
edits() {
    /usr/bin/python3 - "$1" <<'PY'
import hashlib, sys
import nbd
h = nbd.NBD()
h.connect_uri(sys.argv[1])
size = h.get_size()
h.pwrite(b"A" * 5000, 1000)                   # inside the first block
h.pwrite(b"B" * 140000, 60000)                # across three blocks
h.pwrite(b"C" * 3000, size - 3000)            # the short final block
# nbdkit 1.32's cow filter over a file offers no zeroing: write zeroes.
zero = h.zero if h.can_zero() else lambda n, o: h.pwrite(bytes(n), o)
zero(70000, 131072)                           # whole blocks and an edge
zero(7, 100)                                  # tiny
h.trim(65536, 65536)                          # a whole block
h.pwrite(b"D" * 10, 65540)                    # into the trimmed block
h.flush()
data = h.pread(size, 0)
print(size, hashlib.md5(data).hexdigest())
h.shutdown()
PY
}
same_output cow-edits --filter=cow file "$disk" -- edits {}
[[ $(md5sum <"$disk") == "$sum_before" ]] || fail "cow wrote to the file"
same_output cow-small-blocks --filter=cow file "$disk" cow-block-size=4k -- edits {}
expect_same_file "block size 4k and 64k" "$TEST_TMPDIR/cow-edits.out" "$TEST_TMPDIR/cow-small-blocks.out"
same_output cow-on-read --filter=cow file "$disk" cow-on-read=true -- edits {}
expect_same_file "cow-on-read" "$TEST_TMPDIR/cow-edits.out" "$TEST_TMPDIR/cow-on-read.out"
[[ $(md5sum <"$disk") == "$sum_before" ]] || fail "cow wrote to the file"

# Extents: the file's hole and data with the overlay's blocks merged in.
map() {
    nbd_ops "$1" write:0:4096 write:131072:512 >/dev/null
    nbdinfo --map "$1"
}
same_output cow-map --filter=cow file "$disk" -- map {}
grep -q "^ *131072 .*data" "$TEST_TMPDIR/cow-map.out" || fail "cow extents: the written block"

# Two connections share the overlay.
shared() {
    nbd_ops "$1" write:4096:512 >/dev/null
    nbdcopy "$1" - | md5sum
}
same_output cow-shared --filter=cow file "$disk" -- shared {}

# The layer below is opened read-only; the export takes every write.
same_output cow-writable --filter=cow file "$disk" -- nbd_ops {} write:0:512 trim:0:512 flush

# cow-on-read=/PATH and cow-on-cache: the same bytes either way (ours).
NBDKIT=$ours
start_server_unix --filter=cow file "$disk" cow-on-read="$TEST_TMPDIR/flag" cow-on-cache=true
touch "$TEST_TMPDIR/flag"
expect_ops "cow-on-cache" "ok ok" "$server_uri" cache:0:300000 read:0:300000
[[ $(export_sum "$server_uri") == $(md5sum <"$disk" | cut -d' ' -f1) ]] ||
    fail "cow-on-read=PATH changed the bytes"
# nbdkit 1.32 offers no zeroing here; ours keeps zeroed blocks as zero extents.
nbd_ops "$server_uri" zero:196608:65536 >/dev/null
nbdinfo --map "$server_uri" | grep -q "^ *196608  *65536  *3  *hole,zero" ||
    fail "cow extents: the zeroed block: $(nbdinfo --map "$server_uri")"
nbd_ops "$server_uri" write:196608:65536 >/dev/null
stop_server "$server_pid"

expect_bad_parameter "cow-block-size" --filter=cow memory 1M cow-block-size=1000
expect_bad_parameter "cow-block-size" --filter=cow memory 1M cow-block-size=512
expect_bad_parameter "cow-on-read" --filter=cow memory 1M cow-on-read=maybe
