#!/usr/bin/env bash
# tar filter: members of GNU, ustar and pax archives (long names, a
# member past 8 GiB is left to the fuzz target), read back and compared
# with tar xOf; the captive page's qemu-img example; compared with
# Debian's nbdkit.  Sparse members and missing ones are refused (ours).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
ours=$NBDKIT
require_commands nbdcopy nbdinfo tar qemu-img

src=$TEST_TMPDIR/src
long=dir-with-a-long-name-$(printf 'x%.0s' {1..60})/another-long-directory-name-$(printf 'y%.0s' {1..40})
mkdir -p "$src/$long"
head -c 1M /dev/urandom >"$src/disk.img"
head -c 12345 /dev/urandom >"$src/odd.bin"
head -c 70000 /dev/urandom >"$src/$long/deep-file-name.img"
echo hello >"$src/readme.txt"
members=(readme.txt disk.img odd.bin "$long/deep-file-name.img")

for format in gnu ustar pax; do
    archive=$TEST_TMPDIR/$format.tar
    tar -C "$src" --format=$format -cf "$archive" "${members[@]}"
    for member in "${members[@]}"; do
        # nbdkit 1.32 serves the wrong bytes for a member whose name needs
        # an extended header (GNU 'L' or pax): the long name is ours only.
        if [[ $member == "$long"/* ]]; then
            start_server_unix file "$archive" --filter=tar tar-entry="$member"
            nbdcopy "$server_uri" "$TEST_TMPDIR/$format.out"
            stop_server "$server_pid"
        else
            same_output "$format" file "$archive" --filter=tar tar-entry="$member" -- nbdcopy {} -
        fi
        expect_same_file "$format $member" "$TEST_TMPDIR/$format.out" <(tar xOf "$archive" "$member")
    done
done

# The captive page's example: qemu-img writes a new disk.img into the tar.
data=$TEST_TMPDIR/data.tar
head -c 1M /dev/urandom >"$TEST_TMPDIR/new.img"
setup_each() { tar -C "$src" -cf "$data" "${members[@]}"; }
same_output captive file "$data" --filter=tar tar-entry=disk.img -- \
    qemu-img convert -n -f raw -O raw "$TEST_TMPDIR/new.img" {}
expect_same_file "captive example" <(tar xOf "$data" disk.img) "$TEST_TMPDIR/new.img"
expect_same_file "captive example, other member" <(tar xOf "$data" odd.bin) "$src/odd.bin"
unset -f setup_each

# The same example verbatim, with --run.
tar -C "$src" -cf "$data" "${members[@]}"
"$NBDKIT" -U - file "$data" --filter=tar tar-entry=disk.img \
    --run "qemu-img convert -n -f raw -O raw $TEST_TMPDIR/new.img \"\$uri\"" ||
    fail "captive example with --run"
expect_same_file "captive --run" <(tar xOf "$data" disk.img) "$TEST_TMPDIR/new.img"

# Read-only, and the size is the member's.
same_output tar-size -r file "$data" --filter=tar tar-entry=odd.bin -- nbdinfo --size {}
[[ $(cat "$TEST_TMPDIR/tar-size.out") == 12345 ]] || fail "member size"

# Ours only: refusals with a clear message.
truncate -s 4M "$src/sparse.img"
echo data | dd of="$src/sparse.img" bs=1M seek=2 conv=notrunc status=none
tar -C "$src" --sparse --format=gnu -cf "$TEST_TMPDIR/sparse-gnu.tar" sparse.img
tar -C "$src" --sparse --format=pax -cf "$TEST_TMPDIR/sparse-pax.tar" sparse.img
NBDKIT=$ours
open_fails "GNU sparse member" "sparse" file "$TEST_TMPDIR/sparse-gnu.tar" --filter=tar tar-entry=sparse.img
open_fails "pax sparse member" "sparse" file "$TEST_TMPDIR/sparse-pax.tar" --filter=tar tar-entry=sparse.img
open_fails "missing member" "not found" file "$data" --filter=tar tar-entry=nothing
open_fails "not a tar file" "checksum" file "$src/disk.img" --filter=tar tar-entry=disk.img
open_fails "tar-limit" "not found" file "$data" --filter=tar tar-entry=odd.bin tar-limit=4k
expect_bad_parameter "tar-entry" file "$data" --filter=tar
