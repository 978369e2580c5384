#!/usr/bin/env bash
# ddrescue filter: reads touching blocks the mapfile does not mark rescued
# fail with EIO, the others succeed, writes are refused, as with Debian's
# nbdkit.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdinfo /usr/bin/python3

cat >"$TEST_TMPDIR/map" <<'MAP'
# Mapfile. Created by GNU ddrescue
# current_pos  current_status  current_pass
0x00000000     +               1
#      pos        size  status
0x00000000  0x00000400  +
0x00000400  0x00000200  -
0x00000600  0x00000200  *
0x00000800  0x000FF800  +
MAP
truncate -s 1M "$TEST_TMPDIR/disk"
same_ops "reads" "read:0:1024 read:1000:100 read:1536:10 read:2048:512 write:0:512" \
    --filter=ddrescue file "$TEST_TMPDIR/disk" ddrescue-mapfile="$TEST_TMPDIR/map"
[[ $answers == "ok EIO EIO ok EPERM " ]] || fail "reads: $answers"
CAPS_FIELDS="is_read_only|can_write|can_zero|can_trim"
same_caps "flags" --filter=ddrescue file "$TEST_TMPDIR/disk" ddrescue-mapfile="$TEST_TMPDIR/map"

expect_bad_parameter "ddrescue-mapfile" --filter=ddrescue file "$TEST_TMPDIR/disk"
