#!/usr/bin/env bash
# A 2^63-1 byte disk written at 2^62 and read back; RSS stays small.
. "$(dirname "$0")/functions.sh"
require_commands nbdsh nbdinfo

start_server_unix memory $(( (1 << 63) - 1 ))
before=$(rss_kib "$server_pid")
nbdsh -u "$server_uri" -c '
size = h.get_size()
assert size == 2**63 - 1, size
h.pwrite(b"far away", 2**62)
assert h.pread(8, 2**62) == b"far away"
assert h.pread(8, 2**62 - 4) == bytes(4) + b"far "
h.pwrite(b"end", size - 3)
assert h.pread(3, size - 3) == b"end"
' || fail "huge disk round trip"
after=$(rss_kib "$server_pid")
echo "RSS before ${before} KiB, after ${after} KiB"
# Generous: two pages and a few directory nodes are a few hundred KiB.
[ $(( after - before )) -lt 16384 ] || fail "RSS grew by $(( after - before )) KiB"
echo "$0: PASS"
