#!/usr/bin/env bash
# The captive examples of nbdkit-captive(1) and nbdkit-memory-plugin(1)
# that our plugins support, verbatim.
source "$(dirname "$0")/../lib/common.sh"
require_commands nbdsh qemu-img fio

here=$(cd "$(dirname "$0")" && pwd)
cd "$TEST_TMPDIR"

out=$("$NBDKIT" -U - memory 1 --run 'nbdsh -u "$uri" -c "print(h.pread(1, 0))"')
[[ $out == "b'\\x00'" || $out == "bytearray(b'\\x00')" ]] || fail "nbdsh example printed: $out"

# --run implies -U - (nbdkit >= 1.36), so the same without it.
out=$("$NBDKIT" memory 1 --run 'nbdsh -u "$uri" -c "print(h.pread(1, 0))"')
[[ $out == "b'\\x00'" || $out == "bytearray(b'\\x00')" ]] ||
    fail "nbdsh example without -U - printed: $out"

# Copying in and out with qemu-img.
head -c 1M /dev/urandom >disk.img
"$NBDKIT" memory 1M --run 'qemu-img convert -n -f raw -O raw disk.img "$uri" &&
                            qemu-img convert -f raw -O raw "$uri" copy.img'
cmp disk.img copy.img || fail "qemu-img round trip through the memory plugin"

# $nbd works as $uri does.
"$NBDKIT" -U - null 1M --run 'qemu-img info $nbd' >info.txt
grep -q '1 MiB' info.txt || fail "qemu-img info \$nbd: $(cat info.txt)"

# nbdkit-captive(1)'s fio example, with a job file of ours.
"$NBDKIT" -f null 1G --run "export uri; fio $here/nbd.fio --output=fio.txt"
grep -q 'null-disk' fio.txt || fail "fio example: $(cat fio.txt)"

# The seed memory plugin's preload recipe: start the server with a pidfile,
# wait for it, then qemu-img into it.  Verbatim but for the address: tests
# listen on 127.0.0.1 and a free port, not on every interface at 10809.
port=$(free_tcp_port)
"$NBDKIT" -P pid -i 127.0.0.1 -p "$port" memory size=2M
for ((i = 0; i < 100; i++)); do [[ -s pid ]] && break; sleep 0.1; done
server=$(cat pid)
on_exit "kill $server 2>/dev/null || true"
head -c 2M /dev/urandom >img
qemu-img convert -p -n img "nbd:localhost:$port" >/dev/null
qemu-img convert -f raw -O raw "nbd:localhost:$port" preloaded.img
cmp img preloaded.img || fail "preload recipe: the disk does not hold the image"
kill "$server"
for ((i = 0; i < 100; i++)); do process_alive "$server" || break; sleep 0.1; done
process_alive "$server" && fail "the background server did not stop on SIGTERM"

echo PASS
