#!/usr/bin/env bash
# direct=true (a created-state property, set before connect): O_DIRECT,
# the device's logical block size advertised as the minimum block size,
# aligned I/O works (whatever the client's buffer), misaligned I/O is
# refused with EINVAL.
. "$(dirname "$0")/functions.sh"
require_commands nbdsh nbdinfo
require_io_uring

disk=$TEST_TMPDIR/disk.img
truncate -s 16M "$disk"
dd if=/dev/zero of="$TEST_TMPDIR/probe" bs=4096 count=1 oflag=direct status=none 2>/dev/null ||
  skip "O_DIRECT is not supported in $TEST_TMPDIR"

log=$TEST_TMPDIR/log
"$NBDKIT" -v -U - blkio io_uring path="$disk" direct=true get=direct get=request-alignment \
  get=buf-alignment --run 'nbdinfo "$uri"' >"$TEST_TMPDIR/info" 2>"$log"
grep -qF 'get direct = true' "$log" || fail "direct: $(grep 'get ' "$log")"
align=$(sed -n 's/.*get request-alignment = //p' "$log")
[[ $align =~ ^(512|1024|2048|4096)$ ]] || fail "request-alignment $align"
grep -qF "get buf-alignment = $align" "$log" || fail "buf-alignment: $(grep 'get ' "$log")"
grep -q "block_size_minimum: $align" "$TEST_TMPDIR/info" ||
  fail "block size: $(grep block_size "$TEST_TMPDIR/info")"

start_server_unix blkio io_uring path="$disk" direct=true
nbdsh -u "$server_uri" -c "
a = $align
h.pwrite(b'\x42' * (3 << 20), a * 5, nbd.CMD_FLAG_FUA)
assert h.pread(3 << 20, a * 5) == b'\x42' * (3 << 20)
h.pwrite(b'\x43' * a, 0)
assert h.pread(a, 0) == b'\x43' * a
h.zero(a * 2, a, nbd.CMD_FLAG_NO_HOLE)
assert h.pread(a * 2, a) == bytes(a * 2)
h.trim(1 << 20, 1 << 20)
h.flush()
"
got=$(nbd_errno "$server_uri" 'h.pread(100, 1)')
[ "$got" = EINVAL ] || fail "misaligned read: $got, expected EINVAL"
stop_server "$server_pid"
dd if="$disk" bs=1 skip=$((align * 5)) count=1 status=none | od -An -tx1 | grep -q 42 ||
  fail "the direct write is not in the file"
echo "$0: PASS"
