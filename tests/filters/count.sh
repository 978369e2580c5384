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

# The man page's example: nbdcopy copies a disk onto itself, writing or
# zeroing each of its bytes once.  (seed=1: a disk with data, since with
# some seeds sparse-random's 100M are all hole.)
n=${#test_server_pids[@]}
# shellcheck disable=SC2016  # $uri is for --run
"$NBDKIT" -v --filter=count sparse-random 100M seed=1 --run 'nbdcopy "$uri" "$uri"' \
    2>"$TEST_TMPDIR/copy.log" || fail "nbdcopy failed: $(tail "$TEST_TMPDIR/copy.log")"
totals=$(sed -nE 's/.*count bytes: read ([0-9]+), written ([0-9]+), zeroed ([0-9]+), trimmed ([0-9]+)$/\1 \2 \3 \4/p' \
    "$TEST_TMPDIR/copy.log")
read -r bytes_read bytes_written bytes_zeroed _ <<<"$totals"
((bytes_read > 0 && bytes_written + bytes_zeroed == 100 * 1048576)) ||
    fail "totals after nbdcopy: '$totals'"

# Quiet without -v.
start_server_unix --filter=count memory 1M
nbd_ops "$server_uri" write:0:512 >/dev/null
stop_server "$server_pid"
if grep -q "count bytes" "$TEST_TMPDIR/server-$n.log"; then
    fail "the totals were printed without -v"
fi
