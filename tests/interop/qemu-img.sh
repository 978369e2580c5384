#!/bin/bash
# qemu-img against the memory plugin over a Unix socket and TCP: info,
# convert a raw and a qcow2 image in (-n: the export exists), convert out,
# compare.
source "$(dirname "$0")/../lib/common.sh"
require_commands qemu-img

# Data with holes, so the zero detection paths of qemu-img run too.
qemu-img create -q -f raw "$TEST_TMPDIR/in.img" 64M
dd if=/dev/urandom of="$TEST_TMPDIR/in.img" bs=1M count=3 seek=5 conv=notrunc status=none
dd if=/dev/urandom of="$TEST_TMPDIR/in.img" bs=4k count=7 seek=9000 conv=notrunc status=none
qemu-img convert -q -f raw -O qcow2 "$TEST_TMPDIR/in.img" "$TEST_TMPDIR/in.qcow2"

for transport in unix tcp; do
    start_server "$transport" memory 64M
    virtual_size=$(qemu-img info --output=json "$server_uri" |
        /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["virtual-size"])')
    [[ $virtual_size == 67108864 ]] || fail "$transport: qemu-img info size $virtual_size"

    qemu-img convert -q -n -f raw -O raw "$TEST_TMPDIR/in.img" "$server_uri"
    qemu-img compare -q -f raw -F raw "$TEST_TMPDIR/in.img" "$server_uri" ||
        fail "$transport: export differs after raw convert in"
    qemu-img convert -q -f raw -O raw "$server_uri" "$TEST_TMPDIR/out.img"
    cmp "$TEST_TMPDIR/in.img" "$TEST_TMPDIR/out.img" || fail "$transport: raw copy out differs"
    qemu-img convert -q -f raw -O qcow2 "$server_uri" "$TEST_TMPDIR/out.qcow2"
    qemu-img compare -q "$TEST_TMPDIR/in.img" "$TEST_TMPDIR/out.qcow2" ||
        fail "$transport: qcow2 copy out differs"
    rm "$TEST_TMPDIR/out.img" "$TEST_TMPDIR/out.qcow2"
    stop_server "$server_pid"

    # qcow2 in, into a fresh export.
    start_server "$transport" memory 64M
    qemu-img convert -q -n -f qcow2 -O raw "$TEST_TMPDIR/in.qcow2" "$server_uri"
    qemu-img compare -q -f qcow2 -F raw "$TEST_TMPDIR/in.qcow2" "$server_uri" ||
        fail "$transport: export differs after qcow2 convert in"
    stop_server "$server_pid"
done

echo "PASS"
