#!/usr/bin/env bash
# nbdkit pattern: each 8-byte word holds its offset, big-endian; read-only;
# the same bytes and capabilities as Debian's nbdkit.
source "$(dirname "$0")/functions.sh"
require_commands nbdinfo nbdsh nbdcopy

same_info pattern 1M
same_bytes pattern 1M
# A size that is not a multiple of 8 cuts the last word short.
same_bytes pattern 12345
same_bytes pattern size=3M

start_server_unix pattern 1T
nbdsh -u "$server_uri" -c '
import struct
assert h.is_read_only()
assert h.get_size() == 1 << 40
for off in (0, 8, 4096 - 8, 1 << 39, (1 << 40) - 8):
    assert h.pread(8, off) == struct.pack(">Q", off), off
# Unaligned reads straddling words and 4 KiB chunks.
buf = h.pread(8192 + 6, 4096 * 7 - 3)
start = 4096 * 7 - 3
want = b"".join(struct.pack(">Q", w) for w in range(start & ~7, start + len(buf) + 8, 8))
assert buf == want[start % 8:start % 8 + len(buf)]
try:
    h.pwrite(b"x", 0)
    raise AssertionError("a write succeeded")
except nbd.Error:
    pass
' || fail "1T pattern"

# The largest size nbdkit allows: the last word is still readable.
start_server_unix pattern 9223372036854775807
nbdsh -u "$server_uri" -c '
size = h.get_size()
assert size == (1 << 63) - 1
assert h.pread(7, size - 7) == bytes.fromhex("7fffffffffffff")
' || fail "2^63-1 pattern"

if have_debian; then
    # Random ranges read from both servers at once.
    start_server_unix pattern 64M
    "$DEBIAN_NBDKIT" -U - pattern 64M --run "nbdsh -u \"\$uri\" -c '
import random
ours = nbd.NBD()
ours.connect_uri(\"$server_uri\")
rng = random.Random(1)
for _ in range(300):
    off = rng.randrange(64 << 20)
    n = rng.randrange(1, min(70000, (64 << 20) - off) + 1)
    assert ours.pread(n, off) == h.pread(n, off), (off, n)
'" || fail "random reads differ from Debian's nbdkit"
fi

# No size: an empty disk, as with nbdkit.
start_server_unix pattern
[[ $(nbdinfo --size "$server_uri") == 0 ]] || fail "default size is not 0"

refused "size" pattern size=foo
refused "exceeds|larger than the maximum" pattern 9223372036854775808
refused "unknown parameter 'foo'" pattern 1M foo=1
dump_has pattern name=pattern magic_config_key=size thread_model=parallel
help_has pattern '^size=<SIZE>'
echo "$0: PASS"
