#!/usr/bin/env bash
# cacheextents filter: the extents a client sees (one at a time, as
# qemu-img map asks) equal the plugin's, before and after writes that
# change them; compared with Debian's nbdkit.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdinfo qemu-img /usr/bin/python3

disk=$TEST_TMPDIR/disk
truncate -s 8M "$disk.orig"
for mib in 1 3 6; do
    head -c 65536 /dev/urandom | dd of="$disk.orig" bs=1M seek=$mib conv=notrunc status=none
done
setup_each() { rm -f "$disk"; cp --sparse=always "$disk.orig" "$disk"; }
same_output cacheextents-map --filter=cacheextents file "$disk" -- nbdinfo --map {}
same_output plain-map file "$disk" -- nbdinfo --map {}
expect_same_file "extents through the filter" "$TEST_TMPDIR/cacheextents-map.out" "$TEST_TMPDIR/plain-map.out"
same_output cacheextents-qemu --filter=cacheextents file "$disk" -- \
    qemu-img map --output=json -f raw {}

# A write in a hole the cache described: the next answer shows it.
write_between() {
    nbdinfo --map "$1" >/dev/null
    nbd_ops "$1" write:5242880:65536 >/dev/null
    nbdinfo --map "$1"
}
same_output cacheextents-write --filter=cacheextents file "$disk" -- write_between {}
grep -q "^ *5242880 .*data" "$TEST_TMPDIR/cacheextents-write.out" ||
    fail "the write is missing from the extents: $(cat "$TEST_TMPDIR/cacheextents-write.out")"
