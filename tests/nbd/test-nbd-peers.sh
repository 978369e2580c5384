#!/usr/bin/env bash
# Upstream servers other than our own: Debian's nbdkit over TCP (hostname=
# and port=, and uri=), qemu-storage-daemon's NBD export, qemu-nbd started
# by command= (socket activation).
source "$(dirname "$0")/../lib/common.sh"
require_commands nbdsh nbdinfo qemu-img /usr/bin/nbdkit

image=$TEST_TMPDIR/disk.raw
head -c 4M /dev/urandom >"$image"

# Debian's nbdkit serving a file over TCP.
NBDKIT=/usr/bin/nbdkit start_server_tcp file "$image"
port=$server_port
for where in "hostname=127.0.0.1 port=$port" "uri=nbd://127.0.0.1:$port/" "nbd://127.0.0.1:$port/"; do
  # shellcheck disable=SC2086  # $where is a list of parameters
  "$NBDKIT" -U - nbd $where --run "qemu-img convert -f raw \"\$uri\" -O raw $TEST_TMPDIR/copy.raw"
  cmp "$image" "$TEST_TMPDIR/copy.raw" || fail "nbd $where: copy differs"
  echo "ok: nbd $where"
done

# qemu-nbd by command=: a qcow2 image seen raw through the proxy.
if command -v qemu-nbd >/dev/null; then
  qemu-img convert -f raw -O qcow2 "$image" "$TEST_TMPDIR/disk.qcow2"
  "$NBDKIT" -U - nbd command=qemu-nbd arg=-f arg=qcow2 arg="$TEST_TMPDIR/disk.qcow2" \
    --run "nbdcopy \"\$uri\" $TEST_TMPDIR/copy2.raw"
  cmp "$image" "$TEST_TMPDIR/copy2.raw" || fail "command=qemu-nbd: copy differs"
  echo "ok: command=qemu-nbd"
fi

# qemu-storage-daemon's NBD export, written through the proxy.
if command -v qemu-storage-daemon >/dev/null; then
  qsd_sock=$TEST_TMPDIR/qsd.sock
  qemu-storage-daemon --blockdev "driver=file,node-name=disk,filename=$image" \
    --nbd-server "addr.type=unix,addr.path=$qsd_sock" \
    --export type=nbd,id=e,node-name=disk,name=disk,writable=on \
    --pidfile "$TEST_TMPDIR/qsd.pid" </dev/null 2>"$TEST_TMPDIR/qsd.log" &
  track_server $!
  for ((i = 0; i < 100; i++)); do [ -S "$qsd_sock" ] && break; sleep 0.1; done
  "$NBDKIT" -U - nbd socket="$qsd_sock" export=disk --run 'nbdsh -u "$uri" -c "
h.pwrite(b\"q\" * 4096, 65536)
h.flush()
assert h.pread(4096, 65536) == b\"q\" * 4096
"'
  cmp -n 4096 -i 65536:0 "$image" <(head -c 4096 /dev/zero | tr '\0' q) || fail "qsd: write lost"
  echo "ok: qemu-storage-daemon"
fi
echo "$0: PASS"
