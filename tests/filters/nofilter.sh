#!/usr/bin/env bash
# nofilter filter: changes nothing, like Debian's nbdkit's.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdinfo /usr/bin/python3

CAPS_FIELDS="can_|is_read_only"
same_caps "nofilter" --filter=nofilter memory 1M
same_caps "nofilter twice, read-only" -r --filter=nofilter --filter=nofilter memory 1M
same_ops "nofilter" "fill:0:512:11 md5:0:512 zero:0:512 trim:0:512 flush cache:0:512" \
    --filter=nofilter memory 1M
[[ $answers == "ok "*" ok ok ok ok " ]] || fail "nofilter: $answers"
