#!/usr/bin/env bash
# Writing then trimming the whole disk gives the memory back to the OS.
. "$(dirname "$0")/functions.sh"
require_commands nbdsh
# The sanitizers keep shadow and quarantined memory that RSS would count.
[[ ${NBDKIT_SANITIZE:-0} == 1 ]] && skip "RSS is not meaningful under the sanitizers"

start_server_unix memory 256M
before=$(rss_kib "$server_pid")
nbdsh -u "$server_uri" -c '
import os
block = os.urandom(1 << 20)
for offset in range(0, 256 << 20, 1 << 20):
    h.pwrite(block, offset)
'
filled=$(rss_kib "$server_pid")
nbdsh -u "$server_uri" -c '
for offset in range(0, 256 << 20, 64 << 20):
    h.trim(64 << 20, offset)
assert h.pread(1 << 20, 100 << 20) == bytes(1 << 20)
'
trimmed=$(settled_rss_kib "$server_pid" $(( before + 16 * 1024 )))
echo "RSS KiB: before $before, filled $filled, trimmed $trimmed"
[ $(( filled - before )) -gt $(( 200 * 1024 )) ] || fail "writing 256 MiB did not take memory?"
# Generous bound: within 16 MiB of the start.
[ $(( trimmed - before )) -lt $(( 16 * 1024 )) ] || fail "trimming kept $(( trimmed - before )) KiB"

# Zeroing (not trimming) frees memory too, and so does writing zero pages.
nbdsh -u "$server_uri" -c '
import os
block = os.urandom(1 << 20)
for offset in range(0, 128 << 20, 1 << 20):
    h.pwrite(block, offset)
h.zero(64 << 20, 0)
h.pwrite(bytes(64 << 20), 64 << 20)
'
zeroed=$(settled_rss_kib "$server_pid" $(( before + 16 * 1024 )))
echo "RSS KiB after zeroing: $zeroed"
[ $(( zeroed - before )) -lt $(( 16 * 1024 )) ] || fail "zeroing kept $(( zeroed - before )) KiB"
echo "$0: PASS"
