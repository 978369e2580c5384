#!/usr/bin/env bash
# qemu-img convert into the blkio plugin and back out, compared with the
# source, and with Debian's nbdkit file plugin serving the same file.
. "$(dirname "$0")/functions.sh"
require_commands qemu-img
require_io_uring

src=$TEST_TMPDIR/source.qcow2
qemu-img create -q -f qcow2 "$src" 48M
qemu-io -f qcow2 "$src" -c 'write -P 0x5a 1M 3M' -c 'write -P 0xa5 30M 5M' \
  -c 'write -P 0x01 47M 512' >/dev/null
disk=$TEST_TMPDIR/disk.img
truncate -s 48M "$disk"

start_server_unix blkio io_uring path="$disk"
qemu-img convert -n -f qcow2 -O raw "$src" "$server_uri" || fail "convert into the server"
qemu-img compare -f qcow2 -F raw "$src" "$server_uri" || fail "compare through the server"
qemu-img convert -f raw -O qcow2 "$server_uri" "$TEST_TMPDIR/back.qcow2" || fail "convert out"
stop_server "$server_pid"
qemu-img compare "$src" "$TEST_TMPDIR/back.qcow2" || fail "round trip differs"
qemu-img compare -f qcow2 -F raw "$src" "$disk" || fail "the file differs"

if [ -x "$REFERENCE_NBDKIT" ]; then
  NBDKIT=$REFERENCE_NBDKIT start_server_unix -r file "$disk"
  qemu-img compare -f qcow2 -F raw "$src" "$server_uri" || fail "Debian's nbdkit file differs"
fi
echo "$0: PASS"
