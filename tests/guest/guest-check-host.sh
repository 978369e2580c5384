#!/bin/bash
# guest-check, the guest tier's NBD client, checked on the host where
# real peers are at hand: its `check` passes against our server and
# against Debian's nbdkit (file plugin, so `verify-image` can then read
# the bytes it left), `verify-image` catches a file that lacks them, and
# `bench` completes.  The guest tier trusts its verdicts; this is why.
source "$(dirname "$0")/../lib/common.sh"
GUEST_CHECK=${GUEST_CHECK:-$BUILDDIR/tests/guest/guest-check}
[[ -x $GUEST_CHECK ]] || fail "$GUEST_CHECK is not built"

# check_against SERVER: both slots checked through SERVER's file plugin,
# then the file verified.
check_against() {
    local server=$1 disk=$TEST_TMPDIR/disk-${1//\//_}.img
    truncate -s 64M "$disk"
    NBDKIT=$server start_server_unix file "$disk"
    "$GUEST_CHECK" check "$server_sock" 0 >"$TEST_TMPDIR/check.out" ||
        { cat "$TEST_TMPDIR/check.out"; fail "check (slot 0) against $server"; }
    "$GUEST_CHECK" check "$server_sock" 1 >"$TEST_TMPDIR/check.out" ||
        { cat "$TEST_TMPDIR/check.out"; fail "check (slot 1) against $server"; }
    grep -q '^PASS verify-large-write$' "$TEST_TMPDIR/check.out" || fail "no large-write step"
    stop_server "$server_pid" || fail "$server exited with an error"
    "$GUEST_CHECK" verify-image "$disk" 0 >/dev/null || fail "slot 0 not in the file ($server)"
    "$GUEST_CHECK" verify-image "$disk" 1 >/dev/null || fail "slot 1 not in the file ($server)"
}

check_against "$NBDKIT"
[[ -x /usr/bin/nbdkit ]] && check_against /usr/bin/nbdkit

# A file without the pattern fails verification, naming the range.
truncate -s 64M "$TEST_TMPDIR/blank.img"
if "$GUEST_CHECK" verify-image "$TEST_TMPDIR/blank.img" 0 >"$TEST_TMPDIR/verify.out"; then
    fail "verify-image accepted an empty file"
fi
grep -q '^FAIL image-fua-write: byte at 0 is 0x00' "$TEST_TMPDIR/verify.out" ||
    fail "unexpected verify-image output: $(cat "$TEST_TMPDIR/verify.out")"

# A failed request is reported as a failed step, not a crash: a read-only
# export refuses the writes.
start_server_unix -r memory 64M
if "$GUEST_CHECK" check "$server_sock" 0 >"$TEST_TMPDIR/check.out"; then
    fail "check passed on a read-only export"
fi
grep -q '^FAIL handshake' "$TEST_TMPDIR/check.out" || fail "read-only export not noticed"

# The benchmark loop: 32 reads in flight for a moment.
start_server_unix memory 64M
"$GUEST_CHECK" bench "$server_sock" 0.5 32 | grep -q '^IOPS [0-9]' || fail "bench printed no IOPS"
echo PASS
