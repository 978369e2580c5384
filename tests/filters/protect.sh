#!/usr/bin/env bash
# protect filter: over a disk of 0xff bytes, writes, zeroes and trims that
# would change a protected byte fail with EPERM and the others succeed,
# with the same answers and content as Debian's nbdkit; bad ranges exit 1.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdinfo /usr/bin/python3

/usr/bin/python3 -c 'import sys; sys.stdout.buffer.write(b"\xff" * 1048576)' >"$TEST_TMPDIR/ff"
cp "$TEST_TMPDIR/ff" "$TEST_TMPDIR/disk"
FRESH_FROM=$TEST_TMPDIR/ff FRESH_TO=$TEST_TMPDIR/disk

ops="trim:0:512 zero:0:512 fill:0:512:ff fill:0:512:fe md5:0:1024 trim:1024:512 zero:1020:8
     fill:600000:10:ff write:600000:10 fill:2048:512:00 fill:0x7fff0:32:ff md5:0:1048576"
# shellcheck disable=SC2086  # ops are words
same_answers "protect" "ops_on_fresh_disk $ops --" --filter=protect file \
    "$TEST_TMPDIR/disk" protect=0-1023 protect=~0-0x7ffff
set -- $answers
[[ "$1 $2 $3 $4" == "EPERM EPERM ok EPERM" ]] || fail "protected range: $answers"
[[ "$6 $7 $8 $9 ${10}" == "ok EPERM ok EPERM ok" ]] || fail "around the ranges: $answers"
[[ ${11} == ok ]] || fail "rewriting the same bytes across both ranges: $answers"

# Open-ended ranges.
same_answers "open ranges" "ops_on_fresh_disk fill:0:8:00 fill:4096:8:00 --" \
    --filter=protect file "$TEST_TMPDIR/disk" protect=-100 protect=0x1000-
[[ $answers == "EPERM EPERM " ]] || fail "open ranges: $answers"
CAPS_FIELDS="can_|is_read_only" same_caps "flags" --filter=protect memory 1M protect=0-1023

expect_bad_parameter "missing '-'" --filter=protect memory 1M protect=x
expect_bad_parameter "end < start" --filter=protect memory 1M protect=5-2
