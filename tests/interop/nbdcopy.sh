#!/bin/bash
# nbdcopy copies a random 64 MiB file into the memory plugin and back out,
# over a Unix socket and TCP, with its default parallel connections and
# requests; the copies must be identical.  Also a sparse copy out.
source "$(dirname "$0")/../lib/common.sh"
require_commands nbdcopy

head -c 64M /dev/urandom >"$TEST_TMPDIR/in.img"

for transport in unix tcp; do
    start_server "$transport" memory 64M
    nbdcopy "$TEST_TMPDIR/in.img" "$server_uri"
    nbdcopy "$server_uri" "$TEST_TMPDIR/out.img"
    cmp "$TEST_TMPDIR/in.img" "$TEST_TMPDIR/out.img" ||
        fail "$transport: copy out differs from copy in"
    rm "$TEST_TMPDIR/out.img"
    stop_server "$server_pid"
done

# A mostly empty disk: only the written MiB is copied as data, the rest
# stays a hole in the output file.
start_server unix memory 64M
dd if="$TEST_TMPDIR/in.img" of="$TEST_TMPDIR/one-mib" bs=1M count=1 status=none
nbdcopy --synchronous "$TEST_TMPDIR/one-mib" "$server_uri"
nbdcopy "$server_uri" "$TEST_TMPDIR/sparse.img"
[[ $(stat -c %s "$TEST_TMPDIR/sparse.img") == 67108864 ]] || fail "sparse copy size"
cmp -n 1048576 "$TEST_TMPDIR/in.img" "$TEST_TMPDIR/sparse.img" || fail "sparse copy data"
cmp -i 1048576 "$TEST_TMPDIR/sparse.img" <(head -c 64M /dev/zero) || fail "sparse copy zeroes"
allocated_kib=$(du -k "$TEST_TMPDIR/sparse.img" | cut -f1)
((allocated_kib < 16384)) || fail "sparse copy allocated $allocated_kib KiB"

echo "PASS"
