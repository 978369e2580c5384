#!/usr/bin/env bash
# Every operation on a sparse file through nbdsh and qemu-io, with the
# effect on the file's allocation checked with stat.
. "$(dirname "$0")/functions.sh"
require_commands nbdsh nbdinfo qemu-io

disk=$TEST_TMPDIR/disk.img
truncate -s 64M "$disk"
start_server_unix file "$disk"
uri=$server_uri

# Capabilities nbdkit's file plugin advertises.
expect_nbdinfo "$uri" 'export-size: 67108864' 'can_flush: true' 'can_fua: true' 'can_trim: true' \
    'can_zero: true' 'can_fast_zero: true' 'can_multi_conn: true' 'can_cache: true' \
    'is_read_only: false' 'base:allocation'

# Writes land in the file; FUA and flush are accepted.
nbdsh -u "$uri" -c '
h.pwrite(b"\xab" * (8 << 20), 8 << 20)
h.pwrite(b"fua!", 100, nbd.CMD_FLAG_FUA)
h.flush()
assert h.pread(4, 100) == b"fua!"
assert h.pread(8 << 20, 8 << 20) == b"\xab" * (8 << 20)
h.cache(1 << 20, 8 << 20)
'
[ "$(dd if="$disk" bs=1 skip=100 count=4 status=none)" = 'fua!' ] || fail "write not in the file"
allocated=$(blocks "$disk")
((allocated >= 16384)) || fail "8 MiB written but only $allocated blocks allocated"

# Extents follow the file's data and holes.
nbdinfo --map "$uri" >"$TEST_TMPDIR/map"
grep -Eq '^ +8388608 +8388608 +0 +data' "$TEST_TMPDIR/map" || fail "map: $(cat "$TEST_TMPDIR/map")"
grep -Eq '^ +16777216 +50331648 +3 +hole,zero' "$TEST_TMPDIR/map" || fail "map: $(cat "$TEST_TMPDIR/map")"

# Trim punches a hole: the blocks go away and the range reads as zeroes.
nbdsh -u "$uri" -c 'h.trim(4 << 20, 8 << 20); assert h.pread(4 << 20, 8 << 20) == bytes(4 << 20)'
expect_blocks_below "$disk" $((allocated - 8000)) "trim"

# Zero (holes allowed) deallocates too; fast zero succeeds on a file.
allocated=$(blocks "$disk")
nbdsh -u "$uri" -c '
h.zero(2 << 20, 12 << 20, nbd.CMD_FLAG_FAST_ZERO)
assert h.pread(2 << 20, 12 << 20) == bytes(2 << 20)
'
expect_blocks_below "$disk" $((allocated - 4000)) "zero"

# Zero with NO_HOLE leaves the range allocated (ZERO_RANGE, or a punched
# hole allocated again) and reads as zeroes.
allocated=$(blocks "$disk")
nbdsh -u "$uri" -c '
h.zero(1 << 20, 14 << 20, nbd.CMD_FLAG_NO_HOLE | nbd.CMD_FLAG_FUA)
assert h.pread(1 << 20, 14 << 20) == bytes(1 << 20)
'
(($(blocks "$disk") >= allocated)) || fail "zero with NO_HOLE freed blocks"

# qemu-io: patterns written and read back, unaligned ranges included.
qemu-io -f raw "$uri" -c 'write -P 0x55 1000 70000' -c 'read -P 0x55 1000 70000' \
  -c 'write -z 5000 1000' -c 'read -P 0 5000 1000' -c 'read -P 0x55 1000 4000' \
  -c 'discard 0 65536' -c 'flush' >"$TEST_TMPDIR/qemu-io.log" ||
  fail "qemu-io: $(cat "$TEST_TMPDIR/qemu-io.log")"
grep -q 'Pattern verification failed' "$TEST_TMPDIR/qemu-io.log" &&
  fail "qemu-io: $(cat "$TEST_TMPDIR/qemu-io.log")"

# fadvise= and cache= are accepted, and the data is the same through them.
for args in fadvise=random fadvise=sequential fadvise=normal cache=none cache=default; do
  start_server_unix file "$disk" "$args"
  nbdsh -u "$server_uri" -c 'assert h.pread(4, 70000) == b"\x55" * 4' || fail "$args"
  stop_server "$server_pid"
done

# --dump-plugin names the features.
"$NBDKIT" file --dump-plugin >"$TEST_TMPDIR/dump"
for key in file_extents=yes file_falloc_fl_punch_hole=yes file_falloc_fl_zero_range=yes \
    file_blkzeroout=yes file_blksszget=yes magic_config_key=file; do
  grep -qx "$key" "$TEST_TMPDIR/dump" || fail "--dump-plugin lacks $key"
done
"$NBDKIT" file --help | grep -q 'dir=' || fail "--help does not mention dir="
echo "$0: PASS"
