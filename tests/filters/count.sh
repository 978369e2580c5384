#!/usr/bin/env bash
# count filter (nbdkit >= 1.46; Debian's 1.32.5 lacks it): after a known
# sequence of requests, the debug line printed when the server exits (-v)
# has the bytes read, written, zeroed and trimmed by the requests that
# succeeded; without -v nothing is printed.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
require_commands nbdcopy /usr/bin/python3

# run_count EXPECTED_LINE ARGS...: the requests below against
# "nbdkit -v --filter=count ARGS", then the totals printed at exit.
run_count() {
    local expected=$1 n=${#test_server_pids[@]}
    shift
    start_server_unix -v --filter=count "$@"
    nbd_ops "$server_uri" write:0:512 write:4096:4096 read:0:1000 read:0:65536 zero:0:4096 \
        trim:4096:512 flush cache:0:512 read:2000000:1 zero:8192:100 >/dev/null
    stop_server "$server_pid"
    grep -qF "$expected" "$TEST_TMPDIR/server-$n.log" ||
        fail "no '$expected' in: $(grep 'count' "$TEST_TMPDIR/server-$n.log")"
}

run_count "count bytes: read 66536, written 4608, zeroed 4196, trimmed 512" memory 1M

# Failed requests do not count: here every write fails.
run_count "count bytes: read 66536, written 0, zeroed 4196, trimmed 512" \
    --filter=error memory 1M error-pwrite-rate=100%

# The man page's example: a copy of a disk onto itself logs the totals.
n=${#test_server_pids[@]}
# shellcheck disable=SC2016  # $uri is for --run
"$NBDKIT" -v --filter=count sparse-random 100M --run 'nbdcopy "$uri" "$uri"' \
    2>"$TEST_TMPDIR/copy.log" || fail "nbdcopy failed: $(tail "$TEST_TMPDIR/copy.log")"
grep -qE "count bytes: read [1-9][0-9]*, written [1-9][0-9]*," "$TEST_TMPDIR/copy.log" ||
    fail "no totals after nbdcopy: $(grep count "$TEST_TMPDIR/copy.log")"

# Quiet without -v.
start_server_unix --filter=count memory 1M
nbd_ops "$server_uri" write:0:512 >/dev/null
stop_server "$server_pid"
if grep -q "count bytes" "$TEST_TMPDIR/server-$n.log"; then
    fail "the totals were printed without -v"
fi
