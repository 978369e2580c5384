#!/usr/bin/env bash
# blkio io_uring on a sparse file: capabilities, every operation through
# nbdsh and qemu-io, and the effect on the file's allocation.
. "$(dirname "$0")/functions.sh"
require_commands nbdsh nbdinfo qemu-io
require_io_uring

disk=$TEST_TMPDIR/disk.img
truncate -s 64M "$disk"
start_server_unix blkio io_uring path="$disk"
uri=$server_uri

expect_nbdinfo "$uri" 'export-size: 67108864' 'can_flush: true' 'can_fua: true' 'can_trim: true' \
    'can_zero: true' 'can_fast_zero: true' 'can_multi_conn: true' 'is_read_only: false' \
    'block_size_minimum: 1' 'block_size_preferred: 4096'

# Writes (plain and FUA) land in the file; flush is accepted.
nbdsh -u "$uri" -c '
h.pwrite(b"\xab" * (8 << 20), 8 << 20)
h.pwrite(b"fua!", 100, nbd.CMD_FLAG_FUA)
h.flush()
assert h.pread(4, 100) == b"fua!"
assert h.pread(8 << 20, 8 << 20) == b"\xab" * (8 << 20)
# Requests of every size and alignment, past 1 MiB and unaligned.
for off, n in [(1, 1), (511, 3), (4095, 70000), (12345678, 1 << 20), ((64 << 20) - 7, 7)]:
    h.pwrite(bytes([n % 251]) * n, off)
    assert h.pread(n, off) == bytes([n % 251]) * n
'
[ "$(dd if="$disk" bs=1 skip=100 count=4 status=none)" = 'fua!' ] || fail "write not in the file"
allocated=$(blocks "$disk")
((allocated >= 16384)) || fail "8 MiB written but only $allocated blocks allocated"

# Trim punches a hole: the blocks go away and the range reads as zeroes.
nbdsh -u "$uri" -c 'h.trim(4 << 20, 8 << 20); assert h.pread(4 << 20, 8 << 20) == bytes(4 << 20)'
expect_blocks_below "$disk" $((allocated - 8000)) "trim"

# Zero (holes allowed) deallocates too; fast zero succeeds.
allocated=$(blocks "$disk")
nbdsh -u "$uri" -c '
h.zero(2 << 20, 12 << 20, nbd.CMD_FLAG_FAST_ZERO)
assert h.pread(2 << 20, 12 << 20) == bytes(2 << 20)
'
expect_blocks_below "$disk" $((allocated - 4000)) "zero"

# Zero with NO_HOLE (ZERO_RANGE) keeps the range allocated, FUA included.
nbdsh -u "$uri" -c 'h.pwrite(b"\x11" * (4 << 20), 20 << 20)'
allocated=$(blocks "$disk")
nbdsh -u "$uri" -c '
h.zero(1 << 20, 21 << 20, nbd.CMD_FLAG_NO_HOLE | nbd.CMD_FLAG_FUA)
assert h.pread(1 << 20, 21 << 20) == bytes(1 << 20)
assert h.pread(1, (22 << 20)) == b"\x11"
'
(($(blocks "$disk") >= allocated)) || fail "zero with NO_HOLE freed blocks"

# qemu-io: patterns written and read back, unaligned ranges included.
qemu-io -f raw "$uri" -c 'write -P 0x55 1000 70000' -c 'read -P 0x55 1000 70000' \
  -c 'write -z 5000 1000' -c 'read -P 0 5000 1000' -c 'read -P 0x55 1000 4000' \
  -c 'discard 0 65536' -c 'flush' >"$TEST_TMPDIR/qemu-io.log" ||
  fail "qemu-io: $(cat "$TEST_TMPDIR/qemu-io.log")"
grep -q 'Pattern verification failed' "$TEST_TMPDIR/qemu-io.log" &&
  fail "qemu-io: $(cat "$TEST_TMPDIR/qemu-io.log")"
stop_server "$server_pid"

# A relative path, num-queues and num-entries; the bare driver name and
# driver= alike.
cd "$TEST_TMPDIR"
for args in "io_uring path=disk.img num-queues=1 num-entries=4" \
    "driver=io_uring path=./disk.img num-queues=3"; do
  # shellcheck disable=SC2086
  start_server_unix blkio $args
  nbdsh -u "$server_uri" -c 'assert h.pread(4, 70000) == b"\x55" * 4' || fail "$args"
  stop_server "$server_pid"
done

# --dump-plugin lists the drivers; --help the parameters.
"$NBDKIT" blkio --dump-plugin >"$TEST_TMPDIR/dump"
for key in magic_config_key=driver blkio_driver_io_uring=yes blkio_driver_nvme-io_uring=yes \
    blkio_driver_virtio-blk-vfio-pci=yes blkio_driver_virtio-blk-vhost-vdpa=yes; do
  grep -qx "$key" "$TEST_TMPDIR/dump" || fail "--dump-plugin lacks $key"
done
grep -q '^blkio_driver_virtio-blk-vhost-user=' "$TEST_TMPDIR/dump" || fail "--dump-plugin: vhost-user"
"$NBDKIT" blkio --help | grep -q 'get=PROPERTY' || fail "--help does not mention get="
echo "$0: PASS"
