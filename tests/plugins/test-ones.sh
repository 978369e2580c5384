#!/usr/bin/env bash
# nbdkit ones [[size=]SIZE] [byte=N]: reads 0xff (or byte N), discards writes
# (nbdkit-ones-plugin(1) of nbdkit 1.36; Debian's 1.32 has no ones plugin).
source "$(dirname "$0")/functions.sh"
require_commands nbdinfo nbdsh nbdcopy

start_server_unix ones 1M
nbdsh -u "$server_uri" -c '
assert h.get_size() == 1 << 20
assert not h.is_read_only()
assert h.can_multi_conn() and h.can_flush() and h.can_trim() and h.can_zero()
assert h.can_fast_zero() and h.can_fua() and h.can_cache()
assert h.pread(4096, 0) == b"\xff" * 4096
assert h.pread(1000, 12345) == b"\xff" * 1000
# Writes, zeroes and trims are all thrown away.
h.pwrite(b"\x00" * 512, 512, nbd.CMD_FLAG_FUA)
h.zero(65536, 0)
h.zero(65536, 0, nbd.CMD_FLAG_FAST_ZERO)
h.trim(65536, 0)
h.flush()
h.cache(4096, 0)
assert h.pread(1 << 20, 0) == b"\xff" * (1 << 20)
' || fail "ones 1M"

copy_out "$TEST_TMPDIR/a5.img" ones 100k byte=0xa5
cmp "$TEST_TMPDIR/a5.img" <(head -c 102400 /dev/zero | tr '\0' '\245') || fail "byte=0xa5 content"
copy_out "$TEST_TMPDIR/seven.img" ones size=4097 byte=7
cmp "$TEST_TMPDIR/seven.img" <(head -c 4097 /dev/zero | tr '\0' '\7') || fail "byte=7 content"

# No size: an empty disk.
start_server_unix ones
[[ $(nbdinfo --size "$server_uri") == 0 ]] || fail "default size is not 0"
# A huge disk starts at once and reads like a small one.
start_server_unix ones 7E
nbdsh -u "$server_uri" -c 'assert h.pread(16, h.get_size() - 16) == b"\xff" * 16' ||
    fail "7E ones"

refused "byte" ones 1M byte=256
refused "byte" ones 1M byte=-1
refused "byte" ones 1M byte=x
refused "unknown parameter 'foo'" ones 1M foo=1
dump_has ones name=ones magic_config_key=size
help_has ones '^size=' '^byte='
echo "$0: PASS"
