#!/usr/bin/env bash
# fua filter: for each fuamode, the same export flags and answers to FUA
# writes and flushes as Debian's nbdkit, over the memory and file plugins.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdinfo /usr/bin/python3

truncate -s 1M "$TEST_TMPDIR/disk"
CAPS_FIELDS="can_fua|can_flush"
ops="write:0:4096 write:0:4096:fua zero:0:4096:fua trim:0:4096:fua flush md5:0:4096"
# (Debian 1.32 does not know fuamode=none, the default.)
for mode in "" fuamode=emulate fuamode=native fuamode=force fuamode=pass \
    fuamode=discard; do
    # shellcheck disable=SC2086  # an empty mode vanishes
    same_caps "memory $mode" --filter=fua memory 1M $mode
    # shellcheck disable=SC2086
    same_ops "memory $mode" "$ops" --filter=fua memory 1M $mode >/dev/null
    # shellcheck disable=SC2086
    same_caps "file $mode" --filter=fua file "$TEST_TMPDIR/disk" $mode
    # shellcheck disable=SC2086
    same_ops "file $mode" "$ops" --filter=fua file "$TEST_TMPDIR/disk" $mode >/dev/null
done

expect_bad_parameter "unknown fuamode 'foo'" --filter=fua memory 1M fuamode=foo
