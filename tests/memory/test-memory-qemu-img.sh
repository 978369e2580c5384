#!/usr/bin/env bash
# qemu-img convert into the memory disk and back out again.
. "$(dirname "$0")/functions.sh"
require_commands qemu-img

# 16 MiB with data at a few places and holes in between.
image=$TEST_TMPDIR/in.img
truncate -s 16M "$image"
for at in 0 3 9 15; do
  head -c 300000 /dev/urandom | dd of="$image" bs=1M seek="$at" conv=notrunc status=none
done

start_server_unix memory 16M
qemu-img convert -n -f raw -O raw "$image" "$server_uri" || fail "convert into the disk"
qemu-img convert -f raw -O raw "$server_uri" "$TEST_TMPDIR/out.img" || fail "convert out of the disk"
cmp "$image" "$TEST_TMPDIR/out.img" || fail "image changed on the round trip"
qemu-img compare -f raw -F raw "$image" "$server_uri" || fail "qemu-img compare"
echo "$0: PASS"
