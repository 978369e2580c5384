#!/usr/bin/env bash
# Every allocator serves the same data and maps it as documented.
. "$(dirname "$0")/functions.sh"
require_commands nbdsh nbdinfo

for allocator in sparse malloc malloc,mlock=false zstd; do
  start_server_unix memory 4M allocator="$allocator"
  nbdsh -u "$server_uri" -c '
import random
rng = random.Random(1)
shadow = bytearray(4 << 20)
for i in range(200):
    length = rng.randrange(1, 200000)
    offset = rng.randrange(0, len(shadow) - length)
    if i % 4 == 3:
        h.zero(length, offset) if i % 8 == 3 else h.trim(length, offset)
        shadow[offset:offset + length] = bytes(length)
    else:
        data = rng.randbytes(length)
        h.pwrite(data, offset)
        shadow[offset:offset + length] = data
assert h.pread(len(shadow), 0) == bytes(shadow)
h.zero(len(shadow), 0)
assert h.pread(len(shadow), 0) == bytes(len(shadow))
h.pwrite(b"x", 3 << 20)
' || fail "allocator=$allocator data"
  nbdinfo --map "$server_uri" > "$TEST_TMPDIR/map"
  case $allocator in
    malloc*) grep -Eq '^ +0 +4194304 +0 +data$' "$TEST_TMPDIR/map" || fail "allocator=$allocator map" ;;
    *) grep -Eq '^ +3145728 +[0-9]+ +0 +data$' "$TEST_TMPDIR/map" || fail "allocator=$allocator map" ;;
  esac
done

# zstd keeps compressible data small: 64 MiB of text takes far less RAM.
start_server_unix memory 64M allocator=zstd
before=$(rss_kib "$server_pid")
nbdsh -u "$server_uri" -c '
block = b"the quick brown fox jumps over the lazy dog\n" * 24000
for offset in range(0, 64 << 20, 1 << 20):
    h.pwrite(block[:1 << 20], offset)
assert h.pread(44, 5 << 20) == block[:44]
'
after=$(rss_kib "$server_pid")
echo "zstd: 64 MiB of text took $(( after - before )) KiB"
[ $(( after - before )) -lt 32768 ] || fail "zstd did not compress"
echo "$0: PASS"
