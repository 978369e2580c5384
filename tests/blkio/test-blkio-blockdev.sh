#!/usr/bin/env bash
# A loop block device through io_uring: its size and sysfs limits, every
# operation, and direct=true with the device's logical block size.
# Skipped where loop devices cannot be attached.
. "$(dirname "$0")/functions.sh"
require_commands losetup nbdsh nbdinfo
require_io_uring

img=$TEST_TMPDIR/backing.img
truncate -s 32M "$img"
dev=$(losetup -f --show "$img" 2>/dev/null) || skip "cannot attach a loop device here"
on_exit "losetup -d '$dev'"
name=$(basename "$dev")
logical=$(cat "/sys/block/$name/queue/logical_block_size")
physical=$(cat "/sys/block/$name/queue/physical_block_size")

log=$TEST_TMPDIR/log
"$NBDKIT" -v -U - blkio io_uring path="$dev" get=capacity get=can-grow \
  get=optimal-io-alignment --run 'nbdinfo --size "$uri"' >"$TEST_TMPDIR/size" 2>"$log"
[ "$(cat "$TEST_TMPDIR/size")" = $((32 << 20)) ] || fail "size $(cat "$TEST_TMPDIR/size")"
for line in "get capacity = $((32 << 20))" 'get can-grow = false' \
    "get optimal-io-alignment = $physical"; do
  grep -qF "$line" "$log" || fail "lacks '$line': $(grep 'get ' "$log")"
done

for direct in false true; do
  start_server_unix blkio io_uring path="$dev" direct=$direct
  nbdinfo "$server_uri" >"$TEST_TMPDIR/info"
  if [ $direct = true ]; then
    grep -q "block_size_minimum: $logical" "$TEST_TMPDIR/info" || fail "direct: minimum"
  fi
  nbdsh -u "$server_uri" -c '
h.pwrite(b"\x77" * (2 << 20), 1 << 20, nbd.CMD_FLAG_FUA)
assert h.pread(2 << 20, 1 << 20) == b"\x77" * (2 << 20)
h.zero(1 << 20, 1 << 20)
assert h.pread(1 << 20, 1 << 20) == bytes(1 << 20)
h.zero(4096, 2 << 20, nbd.CMD_FLAG_NO_HOLE)
assert h.pread(4096, 2 << 20) == bytes(4096)
h.trim(65536, 0)
h.flush()
'
  stop_server "$server_pid"
  cmp -n $((3 << 20)) -i $((1 << 20)):$((1 << 20)) "$dev" /dev/zero || true
  # What is left of the write: from 2M + 4K to 3M.
  cmp -n $(((1 << 20) - 4096)) -i $(((2 << 20) + 4096)):0 "$dev" \
    <(head -c 1M /dev/zero | tr '\0' '\167') || fail "direct=$direct: device contents"
done
echo "$0: PASS"
