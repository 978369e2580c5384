#!/usr/bin/env bash
# rate filter: requests under total, per-connection and file-given limits
# get the same answers and data as with Debian's nbdkit (no timings are
# checked), and bad parameters are refused.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdinfo /usr/bin/python3

ops="fill:0:65536:77 md5:0:65536 zero:0:4096 trim:4096:4096 md5:0:65536"
same_ops "rate" "$ops" --filter=rate memory 1M rate=64M
same_ops "connection-rate" "$ops" --filter=rate memory 1M connection-rate=64M burstiness=4
echo 100M >"$TEST_TMPDIR/rate"
same_ops "rate-file" "$ops" --filter=rate memory 1M rate=64M rate-file="$TEST_TMPDIR/rate" \
    connection-rate-file="$TEST_TMPDIR/missing"
[[ $answers != *E* ]] || fail "requests refused: $answers"

expect_bad_parameter "rate" --filter=rate memory 1M rate=foo
