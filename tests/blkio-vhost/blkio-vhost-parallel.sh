#!/usr/bin/env bash
# Several connections and queues: qemu-storage-daemon with two queues,
# ours with num-queues=2; two clients at once (the daemon takes one
# vhost-user front end: the device is shared) and fio with four jobs, each
# on its own connection, writing and verifying its own region.
. "$(dirname "$0")/functions.sh"
require_commands nbdsh fio qemu-img

disk=$TEST_TMPDIR/disk.raw
make_disk "$disk" 64M
start_qsd "$disk" ",writable=on,num-queues=2"
start_server_unix blkio virtio-blk-vhost-user path="$qsd_vhost" num-queues=2

# Two clients connected at the same time.
timeout 60 nbdsh -u "$server_uri" -c "
h2 = nbd.NBD()
h2.connect_uri('$server_uri')
h.pwrite(b'\x01' * 4096, 0)
h2.pwrite(b'\x02' * 4096, 4096)
assert h2.pread(4096, 0) == b'\x01' * 4096
assert h.pread(4096, 4096) == b'\x02' * 4096
h2.shutdown()
" || fail "two clients at once"

timeout 250 fio --verify_state_save=0 --name=verify --ioengine=nbd --uri="$server_uri" \
    --numjobs=4 --size=8M --offset_increment=8M --rw=randwrite --bs=4k --iodepth=16 \
    --verify=crc32c --do_verify=1 --verify_fatal=1 --output="$TEST_TMPDIR/fio.log" ||
    fail "fio verify: $(cat "$TEST_TMPDIR/fio.log")"
grep -q 'err= 0' "$TEST_TMPDIR/fio.log" || fail "fio: $(cat "$TEST_TMPDIR/fio.log")"
qemu-img compare -f raw -F raw "$server_uri" "$qsd_nbd" >/dev/null ||
    fail "ours and qemu-storage-daemon's NBD export differ after fio"
echo "$0: PASS"
