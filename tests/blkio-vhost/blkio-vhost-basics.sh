#!/usr/bin/env bash
# nbdkit blkio virtio-blk-vhost-user in front of qemu-storage-daemon:
# what the client reads and writes through us is what the daemon's own NBD
# export of the same node shows, byte for byte, and the reverse; every
# operation (write with and without FUA, flush, zero with and without
# may-trim, trim, zero and trim above the device's 16 MiB limit).
. "$(dirname "$0")/functions.sh"
require_commands nbdsh qemu-img

disk=$TEST_TMPDIR/disk.raw
make_disk "$disk" 64M
start_qsd "$disk"
start_server_unix blkio virtio-blk-vhost-user path="$qsd_vhost"
ours=$server_uri

compare() {
    qemu-img compare -f raw -F raw "$ours" "$qsd_nbd" >/dev/null ||
        fail "$1: ours and qemu-storage-daemon's NBD export differ"
}
compare "as started"

nbdsh -u "$ours" -c '
M = 1024 * 1024
assert h.get_size() == 64 * M
assert h.can_flush() and h.can_zero() and h.can_trim() and h.can_fua()
h.pwrite(b"\xab" * 4096, 0)
h.pwrite(b"\xcd" * 512, 512 * 1001, nbd.CMD_FLAG_FUA)
h.pwrite(bytes(range(256)) * 4096, 8 * M)                  # 1 MiB
h.flush()
h.zero(M, 4 * M)                                           # may trim
h.zero(3 * M, 5 * M, nbd.CMD_FLAG_NO_HOLE | nbd.CMD_FLAG_FUA)
h.trim(22 * M, 10 * M)                                     # above the 16 MiB limit: split
h.zero(32 * M, 20 * M)                                     # above the 16 MiB limit: split
assert h.pread(4096, 0) == b"\xab" * 4096
assert h.pread(512, 512 * 1001) == b"\xcd" * 512
assert h.pread(M, 8 * M) == bytes(range(256)) * 4096
assert h.pread(M, 4 * M) == bytes(M)
assert h.pread(3 * M, 5 * M) == bytes(3 * M)
assert h.pread(32 * M, 20 * M) == bytes(32 * M)
'
compare "after writes through ours"

# The other way: written through the daemon's NBD export, read through us.
nbdsh -u "$qsd_nbd" -c 'h.pwrite(b"\x5a" * 65536, 60 * 1024 * 1024); h.flush()'
nbdsh -u "$ours" -c 'assert h.pread(65536, 60 * 1024 * 1024) == b"\x5a" * 65536'
compare "after writes through qemu-storage-daemon"

# Zeroes read back as zeroes through the daemon too.
nbdsh -u "$qsd_nbd" -c 'assert h.pread(32 * 1024 * 1024, 20 * 1024 * 1024) == bytes(32 * 1024 * 1024)'

stop_server "$server_pid"
stop_qsd "$qsd_pid"
# And in the file itself once the daemon is gone.
cmp -n 4096 "$disk" <(head -c 4096 /dev/zero | tr '\0' '\253') ||
    fail "the file does not hold the first write"
echo "$0: PASS"
