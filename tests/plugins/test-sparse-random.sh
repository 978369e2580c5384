#!/usr/bin/env bash
# nbdkit sparse-random: runs of data among holes, in the proportion asked;
# extents match the content; writes accepted only when they match; flags
# as Debian's nbdkit.  The layout and bytes differ from Debian's (another
# generator), so they are checked for their properties, not byte for byte.
source "$(dirname "$0")/functions.sh"
require_commands nbdinfo nbdsh nbdcopy

same_info sparse-random 1M seed=1 percent=0
same_flags sparse-random 1M seed=1 percent=100
same_flags sparse-random 1G seed=1

# data_percent ARGS...: the share of data in nbdinfo --map --totals.
data_percent() {
    run_with "$NBDKIT" "$@" -- 'nbdinfo --map --totals "$uri"' |
        awk '$4 == "data" { sub("%", "", $2); print int($2) }'
}
p=$(data_percent sparse-random 16G seed=3 runlength=1M)
((p >= 7 && p <= 13)) || fail "default percent=10 gave ${p}% data"
p=$(data_percent sparse-random 16G seed=3 runlength=1M percent=70)
((p >= 63 && p <= 77)) || fail "percent=70 gave ${p}% data"
p=$(data_percent sparse-random 16G seed=3 percent=100)
((p == 100)) || fail "percent=100 gave ${p}% data"

# Mean data run length near runlength (4 MiB here).
runs=$(run_with "$NBDKIT" sparse-random 16G seed=9 runlength=4M percent=20 -- 'nbdinfo --map "$uri"' |
    awk '$4 == "data" { n++; total += $2 } END { print int(total / n / 1048576) }')
((runs >= 3 && runs <= 5)) || fail "mean data run is ${runs} MiB, not about 4"

copy_out "$TEST_TMPDIR/a.img" sparse-random 256M seed=11 runlength=256k percent=30
copy_out "$TEST_TMPDIR/b.img" sparse-random 256M seed=11 runlength=256k percent=30
cmp "$TEST_TMPDIR/a.img" "$TEST_TMPDIR/b.img" || fail "same seed, different disks"
rm "$TEST_TMPDIR/b.img"

check_shape() {
    local random_content=$1
    start_server_unix sparse-random 256M seed=11 runlength=256k percent=30 random-content="$random_content"
    nbdsh --base-allocation -u "$server_uri" -c "
import errno
random_content = '$random_content' == 'true'
disk = open('$TEST_TMPDIR/a.img', 'rb').read()
assert h.can_flush() and h.can_fua() and h.can_trim() and h.can_zero() and h.can_multi_conn()
assert not h.can_fast_zero()
extents = []
def collect(meta, off, entries, err):
    for i in range(0, len(entries), 2):
        extents.append(entries[i:i + 2])
    return 0
off = 0
while off < h.get_size():
    before = len(extents)
    h.block_status(min(h.get_size() - off, 1 << 30), off, collect)
    off += sum(e[0] for e in extents[before:])
pos, data_blocks = 0, 0
for length, flags in extents:
    assert pos % 4096 == 0 and length % 4096 == 0
    if flags & 1:  # hole: reads zeroes; zeroing and trimming it is allowed
        assert flags == 3
        assert h.pread(min(length, 65536), pos) == bytes(min(length, 65536))
        h.zero(min(length, 65536), pos)
        h.trim(min(length, 65536), pos)
    else:          # data: no zero blocks; one byte per block unless random-content
        for b in range(pos, pos + min(length, 8 * 4096), 4096):
            block = h.pread(4096, b)
            assert block == disk[b:b + 4096]
            assert block.count(0) < 64
            assert (len(set(block)) > 1) == random_content
        data_blocks += length // 4096
        try:
            h.zero(4096, pos)
            raise AssertionError('zeroing data succeeded')
        except nbd.Error as e:
            assert e.errnum == errno.EIO
    pos += length
assert pos == h.get_size()
assert data_blocks > 0
h.pwrite(disk[5000:300000], 5000, nbd.CMD_FLAG_FUA)
h.flush()
try:
    wrong = bytearray(disk[8192:12288])
    wrong[100] ^= 1
    h.pwrite(bytes(wrong), 8192)
    raise AssertionError('a mismatching write succeeded')
except nbd.Error as e:
    assert e.errnum == errno.EIO
" || fail "shape with random-content=$random_content"
}
check_shape false
# random-content changes only the bytes inside data blocks.
copy_out "$TEST_TMPDIR/a.img" sparse-random 256M seed=11 runlength=256k percent=30 random-content=true
check_shape true

# Copying onto itself checks every block (the man page's test), here
# with the extents skipping holes; and qemu-img reads the same as nbdcopy.
run_with "$NBDKIT" sparse-random 2G seed=2 runlength=1M -- 'nbdcopy "$uri" "$uri"' ||
    fail "nbdcopy onto itself"
if command -v qemu-img >/dev/null; then
    start_server_unix sparse-random 256M seed=11 runlength=256k percent=30
    qemu-img convert -f raw -O raw "$server_uri" "$TEST_TMPDIR/q.img"
    copy_out "$TEST_TMPDIR/a.img" sparse-random 256M seed=11 runlength=256k percent=30
    cmp "$TEST_TMPDIR/a.img" "$TEST_TMPDIR/q.img" || fail "qemu-img and nbdcopy disagree"
fi

# A 1 TiB disk is ready at once and can be read anywhere.
start_server_unix sparse-random 1T
nbdsh -u "$server_uri" -c 'assert len(h.pread(1 << 20, (1 << 40) - (1 << 20))) == 1 << 20' ||
    fail "1T sparse-random"

refused "percent" sparse-random 1M percent=101
refused "percent" sparse-random 1M percent=-1
refused "percent" sparse-random 1M percent=abc
refused "runlength parameter must be > 0" sparse-random 1M runlength=0
refused "boolean|random-content" sparse-random 1M random-content=maybe
refused "seed" sparse-random 1M seed=4294967296
refused "unknown parameter 'foo'" sparse-random 1M foo=1
dump_has sparse-random name=sparse-random magic_config_key=size
help_has sparse-random '^size=<SIZE>' '^seed=' '^percent=' '^runlength=' '^random-content='
echo "$0: PASS"
