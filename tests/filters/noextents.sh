#!/usr/bin/env bash
# noextents filter: a sparse disk is reported as all data, as Debian's
# nbdkit does; without the filter the same disk has holes.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdinfo /usr/bin/python3

map() { nbdinfo --map "$1" | tr -s ' \t' ' '; }

CAPS_FIELDS="can_|is_read_only" same_caps "noextents" --filter=noextents memory 1M
same_answers "map" map --filter=noextents memory 1M
[[ $answers == " 0 1048576 0 data" ]] ||
    fail "noextents reported holes"
same_answers "map without the filter" map memory 1M
[[ $answers == *hole* ]] ||
    fail "memory without the filter has no holes"
