#!/usr/bin/env bash
# nocache filter: for each cachemode, the same export flags and answers to
# cache requests as Debian's nbdkit.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdinfo /usr/bin/python3

CAPS_FIELDS=can_cache
for mode in "" cachemode=none cachemode=emulate cachemode=nop; do
    # shellcheck disable=SC2086  # an empty mode vanishes
    same_caps "$mode" --filter=nocache memory 1M $mode
    # shellcheck disable=SC2086
    same_ops "$mode" "write:0:4096 cache:0:4096 md5:0:4096" --filter=nocache memory 1M $mode \
       
done
same_ops "nop" "cache:0:65536" --filter=nocache memory 1M cachemode=nop
[[ $answers == "ok " ]] ||
    fail "cachemode=nop refused a cache request"

expect_bad_parameter "unknown cachemode 'foo'" --filter=nocache memory 1M cachemode=foo
