#!/usr/bin/env bash
# The captive examples of nbdkit-captive(1) and nbdkit-memory-plugin(1)
# that our plugins support, verbatim.
source "$(dirname "$0")/../lib/common.sh"
require_commands nbdsh qemu-img

cd "$TEST_TMPDIR"
# The commands run nbdsh, whose libnbd bindings live in Debian's python3.
export PATH="/usr/bin:$PATH"

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

echo PASS
