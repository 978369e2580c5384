#!/usr/bin/env bash
# The example1 plugin, through the command in its documentation: copy the
# disk out with qemu-img, then check it with partitioning and FAT tools.
source "$(dirname "$0")/../lib/common.sh"
require_commands qemu-img nbdsh

cd "$TEST_TMPDIR"
# The command exactly as documented relies on --run implying -U - (as
# nbdkit >= 1.36 does); against an older nbdkit say so explicitly rather
# than listen on the default TCP port.
if "$NBDKIT" --dump-config | grep -qx 'run_default_socket=Unix'; then
    "$NBDKIT" example1 --run 'qemu-img convert "$uri" disk.img'
else
    "$NBDKIT" -U - example1 --run 'qemu-img convert "$uri" disk.img'
fi

size=$(stat -c %s disk.img)
((size == 2 * 1024 * 1024)) || fail "disk.img is $size bytes, expected 2 MiB"

# Read-only, and the same for every client.
nbdsh -c - <<PY
h.connect_command(["$NBDKIT", "-s", "--exit-with-parent", "example1"])
assert h.is_read_only()
assert h.can_multi_conn()
try:
    h.pwrite(b"x", 0)
    raise AssertionError("a write succeeded")
except nbd.Error:
    pass
assert h.pread(2, 510) == b"\x55\xaa"
PY

if command -v sfdisk >/dev/null; then
    sfdisk -d disk.img >table
    grep -Eq '^disk\.img1 : start= *2048, size= *2048, type=1$' table ||
        { cat table >&2; fail "unexpected partition table"; }
else
    echo "sfdisk (fdisk package) not installed: partition table not checked" >&2
fi

partition_offset=$((2048 * 512))
if command -v fsck.fat >/dev/null; then
    dd if=disk.img of=partition.img bs=512 skip=2048 status=none
    fsck.fat -n partition.img >fsck.out 2>&1 || { cat fsck.out >&2; fail "fsck.fat found errors"; }
else
    echo "fsck.fat (dosfstools package) not installed: filesystem not checked" >&2
fi

if command -v mdir >/dev/null; then
    export MTOOLS_SKIP_CHECK=1
    mdir -i "disk.img@@$partition_offset" :: >listing
    grep -q 'Volume in drive : is EXAMPLE1' listing || { cat listing >&2; fail "no EXAMPLE1 label"; }
    grep -Eq '^README +TXT' listing || { cat listing >&2; fail "no README.TXT"; }
    mtype -i "disk.img@@$partition_offset" ::README.TXT >readme
    grep -q 'nbdkit example1 plugin' readme || { cat readme >&2; fail "README.TXT has the wrong text"; }
else
    echo "mdir (mtools package) not installed: files not checked" >&2
fi
