#!/usr/bin/env bash
# A block device (a loop device over a file): size, reads and writes,
# zeroing with BLKZEROOUT or a discard that zeroes, trim, rotational flag;
# compared with what Debian's nbdkit reads from it.
. "$(dirname "$0")/functions.sh"
require_commands nbdsh nbdinfo losetup

backing=$TEST_TMPDIR/backing.img
head -c 16M /dev/urandom >"$backing"
loop=$(losetup --find --show "$backing" 2>/dev/null) || skip "losetup does not work here"
on_exit "losetup -d '$loop'"

start_server_unix file "$loop"
uri=$server_uri
nbdinfo "$uri" >"$TEST_TMPDIR/info"
grep -q 'export-size: 16777216' "$TEST_TMPDIR/info" || fail "size: $(cat "$TEST_TMPDIR/info")"
rotational=$(cat "/sys/block/${loop#/dev/}/queue/rotational")
want=false
[ "$rotational" = 1 ] && want=true
grep -q "is_rotational: $want" "$TEST_TMPDIR/info" || fail "rotational: $(cat "$TEST_TMPDIR/info")"

nbdsh -u "$uri" -c '
h.pwrite(b"\x11" * 65536, 1 << 20, nbd.CMD_FLAG_FUA)
assert h.pread(65536, 1 << 20) == b"\x11" * 65536
h.zero(65536, 1 << 20, nbd.CMD_FLAG_NO_HOLE)
assert h.pread(65536, 1 << 20) == bytes(65536)
h.pwrite(b"\x22" * 8192, 4 << 20)
h.zero(8192, 4 << 20)
assert h.pread(8192, 4 << 20) == bytes(8192)
h.zero(1000, 6 << 20)   # not whole sectors: written as zeroes
assert h.pread(1000, 6 << 20) == bytes(1000)
h.trim(1 << 20, 8 << 20)
h.cache(1 << 20, 0)
h.flush()
'
stop_server "$server_pid"
cmp <(head -c 65536 /dev/zero) <(dd if="$backing" bs=64k skip=16 count=1 status=none) ||
  fail "zeroes did not reach the backing file"

if [ -x "$REFERENCE_NBDKIT" ]; then
  NBDKIT=$REFERENCE_NBDKIT start_server_unix -r file "$loop"
  reference_uri=$server_uri
  start_server_unix -r file "$loop"
  nbdsh -u "$server_uri" -c "
import nbd
ref = nbd.NBD()
ref.connect_uri('$reference_uri')
for offset in range(0, 16 << 20, 1 << 20):
    assert h.pread(1 << 20, offset) == ref.pread(1 << 20, offset), offset
"
fi
echo "$0: PASS"
