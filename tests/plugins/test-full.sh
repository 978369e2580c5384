#!/usr/bin/env bash
# nbdkit full SIZE: reads zeroes, every write, trim and zero fails with
# ENOSPC, as Debian's nbdkit does.
source "$(dirname "$0")/functions.sh"
require_commands nbdinfo nbdsh nbdcopy qemu-img

same_info full 1M
same_bytes full 1M

start_server_unix full 1G
nbdsh -u "$server_uri" -c '
import errno
assert h.pread(65536, 1 << 29) == bytes(65536)
def fails_with(err, f):
    try:
        f()
    except nbd.Error as e:
        assert e.errnum == err, (e.errnum, err)
        return
    raise AssertionError("succeeded")
fails_with(errno.ENOSPC, lambda: h.pwrite(b"x" * 4096, 0))
fails_with(errno.ENOSPC, lambda: h.zero(4096, 0))
fails_with(errno.ENOTSUP, lambda: h.zero(4096, 0, nbd.CMD_FLAG_FAST_ZERO))
fails_with(errno.ENOSPC, lambda: h.trim(4096, 0))
h.cache(4096, 0)
' || fail "full data calls"

# A real client sees "No space left on device".
head -c 1M /dev/urandom >"$TEST_TMPDIR/src.img"
if qemu-img convert -n -f raw -O raw "$TEST_TMPDIR/src.img" "$server_uri" 2>"$TEST_TMPDIR/qemu.err"; then
    fail "qemu-img convert into a full disk succeeded"
fi
grep -qi "no space left" "$TEST_TMPDIR/qemu.err" || { cat "$TEST_TMPDIR/qemu.err" >&2; fail "no ENOSPC"; }

refused "size parameter is required" full
refused "unknown parameter 'foo'" full 1M foo=1
refused "size" full size=1X
dump_has full name=full magic_config_key=size
help_has full '^size=<SIZE>'
echo "$0: PASS"
