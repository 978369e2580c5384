#!/usr/bin/env bash
# scan filter: once a client connects, cache requests cover the whole
# disk in scan-size pieces, in order (seen by the log filter below it);
# reads are unchanged.  Compared with Debian's nbdkit.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdcopy nbdinfo

disk=$TEST_TMPDIR/disk
head -c 8M /dev/urandom >"$disk"
log=$TEST_TMPDIR/scan.log
setup_each() { rm -f "$log"; }
# Holds a connection until the scan reached the last piece, then reads.
scan_then_read() {
    /usr/bin/python3 -c 'import nbd, sys, time; h = nbd.NBD(); h.connect_uri(sys.argv[1]); time.sleep(600)' "$1" &
    local holder=$!
    wait_for_log_line "$log" "offset=0x700000 count=0x100000"
    kill "$holder" 2>/dev/null || true
    wait "$holder" 2>/dev/null || true
    grep " Cache id=.* offset=" "$log" | sed 's/.* offset=/offset=/'
    nbdcopy "$1" - | md5sum
}
same_output scan --filter=scan --filter=log file "$disk" logfile="$log" scan-size=1M -- \
    scan_then_read {}
[[ $(grep -c "^offset=" "$TEST_TMPDIR/scan.out") == 8 ]] || fail "scan: $(cat "$TEST_TMPDIR/scan.out")"
[[ $(tail -1 "$TEST_TMPDIR/scan.out") == "$(md5sum <"$disk")" ]] || fail "scan changed the bytes"
for NBDKIT in $(compared_servers); do
    expect_bad_parameter "scan-size" --filter=scan memory 1M scan-size=3000
done
