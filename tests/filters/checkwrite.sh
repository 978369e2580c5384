#!/usr/bin/env bash
# checkwrite filter: the man page's copy checks, a differing write and
# zeroing over data failing with EIO, the file never written; compared
# with Debian's nbdkit.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdcopy qemu-img /usr/bin/python3

disk=$TEST_TMPDIR/disk
head -c 1M /dev/urandom >"$disk"
truncate -s 3M "$disk"
head -c 1M /dev/urandom >>"$disk"
sum=$(md5sum <"$disk")
ours=$NBDKIT
for NBDKIT in $(compared_servers); do
    # The data plugin may not be built yet.
    if "$NBDKIT" --dump-plugin data >/dev/null 2>&1; then
        "$NBDKIT" -U - --filter=checkwrite data "@32768 1" --run 'nbdcopy "$uri" "$uri"' ||
            fail "$NBDKIT: nbdcopy onto itself"
    fi
    "$NBDKIT" -U - --filter=checkwrite file "$disk" --run 'nbdcopy "$uri" "$uri"' ||
        fail "$NBDKIT: nbdcopy of a file onto itself"
    "$NBDKIT" -U - --filter=checkwrite file "$disk" \
        --run 'qemu-img convert -n -f raw -O raw "$uri" "$uri"' || fail "$NBDKIT: qemu-img convert"
done
NBDKIT=$ours
same_output checkwrite-ops --filter=checkwrite file "$disk" -- \
    nbd_ops {} write:0:512 zero:0:512 zero:1048576:4096 trim:2097152:4096 flush
[[ $(tr '\n' ' ' <"$TEST_TMPDIR/checkwrite-ops.out") == "EIO EIO ok ok ok " ]] ||
    fail "checkwrite ops: $(cat "$TEST_TMPDIR/checkwrite-ops.out")"
[[ $(md5sum <"$disk") == "$sum" ]] || fail "checkwrite wrote to the file"
