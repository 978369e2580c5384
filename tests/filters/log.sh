#!/usr/bin/env bash
# log filter: the log file of the same command line and client requests
# matches Debian's nbdkit line for line, once timestamps and the block
# size fields of the Connect line (the memory plugins differ there) are
# taken out.  Also logappend, extents and bad parameters.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
require_commands nbdinfo /usr/bin/python3

# normalised_log FILE: the log without timestamps and block sizes.
normalised_log() {
    cut -d' ' -f3- "$1" | sed -E 's/ minsize=0x[0-9a-f]+ prefsize=0x[0-9a-f]+ maxsize=0x[0-9a-f]+//'
}

# run_logged NAME: serves memory under log (over error, which fails reads
# with ENOSPC) and runs the same client requests; the log is NAME.log.
run_logged() {
    local log=$TEST_TMPDIR/$1.log
    start_server_unix --filter=log --filter=error memory 1M logfile="$log" \
        error=ENOSPC error-pread-rate=100%
    nbd_ops "$server_uri" write:0:512 read:0:512 zero:0:4096 trim:4096:512 flush \
        cache:0:512 write:512:1024 >/dev/null
    nbdinfo --list "$server_uri" >/dev/null
    stop_server "$server_pid"
}

ours=$NBDKIT
run_logged ours
if [[ -x /usr/bin/nbdkit && $ours != /usr/bin/nbdkit ]]; then
    NBDKIT=/usr/bin/nbdkit run_logged debian
    diff -u <(normalised_log "$TEST_TMPDIR/debian.log") <(normalised_log "$TEST_TMPDIR/ours.log") ||
        fail "the log differs from Debian's nbdkit's"
fi
grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6} Ready thread_model=3$' \
    "$TEST_TMPDIR/ours.log" || fail "no timestamped Ready line: $(head -1 "$TEST_TMPDIR/ours.log")"

# Extents: offset, length and quoted type of each, as nbdkit writes them.
start_server_unix --filter=log memory 1M logfile="$TEST_TMPDIR/extents.log"
nbdinfo --map "$server_uri" >/dev/null
stop_server "$server_pid"
grep -qF '...Extents id=1 extents=(0x0 0x100000 "hole,zero") return=0' \
    "$TEST_TMPDIR/extents.log" || fail "extents line: $(grep Extents "$TEST_TMPDIR/extents.log")"

# logappend=true keeps what the file had.
echo "earlier line" >"$TEST_TMPDIR/append.log"
start_server_unix --filter=log memory 1M logfile="$TEST_TMPDIR/append.log" logappend=true
stop_server "$server_pid"
[[ $(head -1 "$TEST_TMPDIR/append.log") == "earlier line" ]] || fail "logappend=true truncated"
grep -q "Ready" "$TEST_TMPDIR/append.log" || fail "logappend=true wrote nothing"

expect_bad_parameter "logfile" --filter=log memory 1M logfile="$TEST_TMPDIR/no/such/dir/log"
expect_bad_parameter "logappend" --filter=log memory 1M logfile=x logappend=maybe
