#!/usr/bin/env bash
# multi-conn filter: for each mode the same multi-conn flag as Debian's
# nbdkit (also under serialize=connections), and, seen by a log filter
# below it, a flush on one of two connections reaching the plugin on each
# connection that needs it, the same number of times as with Debian's.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdinfo /usr/bin/python3

CAPS_FIELDS=can_multi_conn
for mode in "" auto emulate disable plugin unsafe; do
    # shellcheck disable=SC2086  # an empty mode vanishes
    same_caps "$mode" --filter=multi-conn memory 1M ${mode:+multi-conn-mode=$mode}
done
same_caps "auto, one connection at a time" --filter=multi-conn --filter=noparallel memory 1M \
    serialize=connections

# flushes_below URI: two connections; the first writes, the second reads
# and flushes, then the first flushes; prints how many flushes the log
# filter below saw.
flushes_below() {
    /usr/bin/python3 - "$1" <<'PY'
import sys
import nbd
handles = []
for _ in range(2):
    h = nbd.NBD()
    h.connect_uri(sys.argv[1])
    handles.append(h)
a, b = handles
a.pwrite(b"x" * 512, 0)
b.pread(512, 0)
b.flush()
a.flush()
b.flush()
for h in handles:
    h.shutdown()
PY
    # The log is complete once the connections are gone.
    wait_for_log_line "$log" "Disconnect"
    sleep 0.5
    grep -c ' Flush ' "$log" || true
}

for mode in emulate plugin; do
    for track in connection fast off; do
        first=''
        for server in $(compared_servers); do
            log=$TEST_TMPDIR/$mode-$track-${#test_server_pids[@]}.log
            NBDKIT=$server start_server_unix --filter=multi-conn --filter=log memory 1M \
                multi-conn-mode=$mode multi-conn-track-dirty=$track logfile="$log"
            count=$(flushes_below "$server_uri")
            stop_server "$server_pid"
            [[ -z $first || $count == "$first" ]] ||
                fail "$mode, $track: $server flushed $count times below, ours $first"
            first=$count
        done
        ((first > 0)) || fail "$mode, $track: no flush reached the plugin"
    done
done

expect_bad_parameter "multi-conn mode" --filter=multi-conn memory 1M multi-conn-mode=foo
