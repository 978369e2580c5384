#!/usr/bin/env bash
# extentlist filter: the same map as Debian's nbdkit from an unordered
# list with gaps and types as words and numbers.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdinfo /usr/bin/python3

map() { nbdinfo --map "$1" | tr -s ' \t' ' '; }

printf '2M 1M hole\n0 1M\n5M 10 zero\n6M 1M 3\n' >"$TEST_TMPDIR/list"
same_answers "map" map --filter=extentlist memory 10M extentlist="$TEST_TMPDIR/list"
[[ $answers == *" 1048576 1048576 3 hole,zero"* && $answers == *" 5242880 10 2 zero"* ]] ||
    fail "map: $answers"
# Reads are the plugin's.
same_ops "data" "fill:0:512:42 md5:0:512" --filter=extentlist memory 10M \
    extentlist="$TEST_TMPDIR/list"

printf '0 2M\n1M 1M\n' >"$TEST_TMPDIR/overlap"
expect_bad_parameter "overlap" --filter=extentlist memory 10M extentlist="$TEST_TMPDIR/overlap"
expect_bad_parameter "extentlist" --filter=extentlist memory 10M
