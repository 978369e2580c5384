#!/usr/bin/env bash
# stats filter: after the same client requests, the stats file matches
# Debian's nbdkit's once times and rates (which depend on the machine) are
# taken out: the same operations, counts and sizes, in the same order.
# Debian's request size histograms (statsthreshold, default 95) are left
# out: ours does not print them.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
require_commands nbdinfo /usr/bin/python3

# normalised_stats FILE: without times, rates and histogram lines.
normalised_stats() {
    grep -v '^ ' "$1" | grep -v '^$' |
        sed -E 's/[0-9]+\.[0-9]{6} s/T s/; s/, [^,]+\/s op/, R\/s op/; s/, [^,]+\/s( total)?$/, R\/s\1/'
}

# run_stats NAME ARGS...: the same requests; the stats file is NAME.stats.
run_stats() {
    local name=$1
    shift
    start_server_unix --filter=stats memory 1M statsfile="$TEST_TMPDIR/$name.stats" "$@"
    nbd_ops "$server_uri" write:0:512 write:4096:4096 read:0:512 read:0:65536 zero:0:4096 \
        trim:4096:512 flush cache:0:512 read:2000000:1 >/dev/null
    nbdinfo --map "$server_uri" >/dev/null
    stop_server "$server_pid"
}

ours=$NBDKIT
for threshold in 0 95; do
    run_stats "ours-$threshold" statsthreshold=$threshold
    grep -qE '^write: 2 ops, [0-9]+\.[0-9]{6} s, 4\.50 KiB, .+/s op, .+/s total$' \
        "$TEST_TMPDIR/ours-$threshold.stats" || fail "write line: $(cat "$TEST_TMPDIR/ours-$threshold.stats")"
    if [[ -x /usr/bin/nbdkit && $ours != /usr/bin/nbdkit ]]; then
        NBDKIT=/usr/bin/nbdkit run_stats "debian-$threshold" statsthreshold=$threshold
        diff -u <(normalised_stats "$TEST_TMPDIR/debian-$threshold.stats") \
            <(normalised_stats "$TEST_TMPDIR/ours-$threshold.stats") ||
            fail "statsthreshold=$threshold: the stats differ from Debian's nbdkit's"
    fi
done

# statsappend=true keeps what the file had.
echo "earlier" >"$TEST_TMPDIR/append.stats"
start_server_unix --filter=stats memory 1M statsfile="$TEST_TMPDIR/append.stats" statsappend=true
stop_server "$server_pid"
[[ $(head -1 "$TEST_TMPDIR/append.stats") == earlier ]] || fail "statsappend=true truncated"
grep -q '^total: 0 ops' "$TEST_TMPDIR/append.stats" || fail "statsappend=true wrote no total"

expect_bad_parameter "statsfile" --filter=stats memory 1M
expect_bad_parameter "statsthreshold" --filter=stats memory 1M statsfile=x statsthreshold=101
