#!/usr/bin/env bash
# Device geometry through us: a size that is not a multiple of 512 (the
# device counts whole sectors), logical block size 4096 (the NBD minimum
# block size), and a read-only export (refused without -r with libblkio's
# "Device is read-only", served with -r).
. "$(dirname "$0")/functions.sh"
require_commands nbdsh nbdinfo

# 10 MiB + 1000 bytes: qemu-storage-daemon rounds the device up to 20482
# sectors, the tail reading as zeroes.
disk=$TEST_TMPDIR/odd.raw
make_disk "$disk" $((10 * 1024 * 1024 + 1000))
start_qsd "$disk"
start_server_unix blkio virtio-blk-vhost-user path="$qsd_vhost"
size=$(nbdinfo --size "$server_uri")
[[ $size == $((20482 * 512)) ]] || fail "odd size: $size"
nbdsh -u "$server_uri" -c "
tail = open('$disk', 'rb').read()[$((20480 * 512)):]
assert h.pread(1024, $((20480 * 512))) == tail + bytes(1024 - len(tail))
"
stop_server "$server_pid"
stop_qsd "$qsd_pid"

# 4096-byte logical blocks.
disk=$TEST_TMPDIR/big.raw
make_disk "$disk" 16M
start_qsd "$disk" ",writable=on,logical-block-size=4096"
start_server_unix blkio virtio-blk-vhost-user path="$qsd_vhost"
nbdinfo --json "$server_uri" >"$TEST_TMPDIR/info.json"
/usr/bin/python3 - "$TEST_TMPDIR/info.json" <<'PY' || fail "block sizes: $(cat "$TEST_TMPDIR/info.json")"
import json, sys
e = json.load(open(sys.argv[1]))["exports"][0]
assert e["block_size_minimum"] == 4096, e
assert e["export-size"] == 16 * 1024 * 1024, e
PY
nbdsh -u "$server_uri" -c '
h.pwrite(b"\x11" * 8192, 4096)
assert h.pread(8192, 4096) == b"\x11" * 8192
'
stop_server "$server_pid"
stop_qsd "$qsd_pid"

# A read-only export.
disk=$TEST_TMPDIR/ro.raw
make_disk "$disk" 4M
start_qsd "$disk" ""
if timeout 60 "$NBDKIT" -U - blkio virtio-blk-vhost-user path="$qsd_vhost" \
        --run 'nbdsh -u "$uri" -c "h.pread(512, 0)"' 2>"$TEST_TMPDIR/ro.log"; then
    fail "a read-only device was served read-write"
fi
grep -q "Device is read-only" "$TEST_TMPDIR/ro.log" ||
    fail "no 'Device is read-only' message: $(cat "$TEST_TMPDIR/ro.log")"
start_server_unix -r blkio virtio-blk-vhost-user path="$qsd_vhost"
nbdsh -u "$server_uri" -c "
assert h.is_read_only()
assert h.pread(4096, 8192) == open('$disk', 'rb').read()[8192:12288]
"
echo "$0: PASS"
