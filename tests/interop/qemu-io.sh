#!/bin/bash
# qemu-io against the memory plugin over a Unix socket (URI and
# --image-opts forms) and TCP: pattern writes, zeroes, discards and
# vectored and FUA I/O, each read back with -P verification.  qemu-io
# exits non-zero when a pattern does not match.
source "$(dirname "$0")/../lib/common.sh"
require_commands qemu-io

io_commands=(
    -c 'read -P 0 0 1M'
    -c 'write -P 0xab 0 1M'
    -c 'read -P 0xab 0 1M'
    -c 'write -P 0x5c 4097 12345'
    -c 'read -P 0xab 0 4097'
    -c 'read -P 0x5c 4097 12345'
    -c 'read -P 0xab 16442 32768'
    -c 'write -z 256k 128k'
    -c 'read -P 0 256k 128k'
    -c 'read -P 0xab 384k 640k'
    -c 'discard 512k 64k'
    -c 'read -P 0 512k 64k'
    -c 'writev -P 0x77 2M 4k 64k 512'
    -c 'readv -P 0x77 2M 68608'
    -c 'write -f -P 0x33 3M 1M'
    -c 'read -P 0x33 3M 1M'
    -c 'flush'
    -c 'write -P 0x99 63M 1M'
    -c 'read -P 0x99 63M 1M'
)

for transport in unix tcp; do
    start_server "$transport" memory 64M
    qemu-io -f raw "$server_uri" "${io_commands[@]}" >"$TEST_TMPDIR/qemu-io.out" ||
        { cat "$TEST_TMPDIR/qemu-io.out" >&2; fail "$transport: qemu-io"; }
    if [[ $transport == unix ]]; then
        # The data written above is still there, seen through --image-opts.
        qemu-io --image-opts "driver=nbd,server.type=unix,server.path=$server_sock" \
            -c 'read -P 0xab 0 4k' -c 'read -P 0x99 63M 1M' >"$TEST_TMPDIR/qemu-io.out" ||
            { cat "$TEST_TMPDIR/qemu-io.out" >&2; fail "qemu-io --image-opts"; }
    fi
    stop_server "$server_pid"
done

echo "PASS"
