#!/bin/bash
# fio's nbd engine (libnbd) against the memory plugin over a Unix socket
# and TCP: 64 MiB of 4k random writes at queue depth 16, then every block
# read back and checked against its crc32c.  Bounded by size, with a
# runtime cap in case the server stalls.
source "$(dirname "$0")/../lib/common.sh"
require_commands fio
fio --enghelp=nbd >/dev/null 2>&1 || skip "fio has no nbd engine"

for transport in unix tcp; do
    start_server "$transport" memory 64M
    if ! fio --name=verify --ioengine=nbd --uri="$server_uri" \
            --rw=randwrite --bs=4k --iodepth=16 --size=64M \
            --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 \
            --runtime=120 --output="$TEST_TMPDIR/fio.out"; then
        cat "$TEST_TMPDIR/fio.out" >&2
        fail "$transport: fio verify job"
    fi
    grep -q 'err= 0' "$TEST_TMPDIR/fio.out" ||
        { cat "$TEST_TMPDIR/fio.out" >&2; fail "$transport: fio reported an error"; }
    stop_server "$server_pid"
done

echo "PASS"
