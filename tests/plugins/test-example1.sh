#!/usr/bin/env bash
# nbdkit example1: the same 100 MiB disk as Debian's nbdkit serves, a
# partition table with one empty Linux partition; only the boot code in
# the first 440 bytes is our own.
source "$(dirname "$0")/functions.sh"
require_commands qemu-img nbdsh nbdinfo

cd "$TEST_TMPDIR"
# The command as documented relies on --run implying -U - (nbdkit >= 1.36);
# against an older nbdkit say so explicitly.
if "$NBDKIT" --dump-config | grep -qx 'run_default_socket=Unix'; then
    "$NBDKIT" example1 --run 'qemu-img convert "$uri" disk.img'
else
    "$NBDKIT" -U - example1 --run 'qemu-img convert "$uri" disk.img'
fi
size=$(stat -c %s disk.img)
((size == 104857600)) || fail "disk.img is $size bytes, expected 104857600"

same_info example1
if have_debian; then
    run_with "$DEBIAN_NBDKIT" example1 -- 'nbdcopy "$uri" debian.img'
    cmp -i 440 disk.img debian.img || fail "differs from Debian's example1 after the boot code"
fi

nbdsh -c - <<PY
h.connect_command(["$NBDKIT", "-s", "--exit-with-parent", "example1"])
assert h.is_read_only()
assert not h.can_multi_conn()
try:
    h.pwrite(b"x", 0)
    raise AssertionError("a write succeeded")
except nbd.Error:
    pass
assert h.pread(2, 510) == b"\x55\xaa"
assert h.pread(4096, 100 * 1024 * 1024 - 4096) == bytes(4096)
PY

if command -v sfdisk >/dev/null; then
    sfdisk -d disk.img >table
    grep -Eq '^label-id: 0x00025be1$' table || { cat table >&2; fail "unexpected disk identifier"; }
    grep -Eq '^disk\.img1 : start= *128, size= *204545, type=83$' table ||
        { cat table >&2; fail "unexpected partition table"; }
fi
refused "does not need command line configuration" example1 foo=1
dump_has example1 name=example1
echo "$0: PASS"
