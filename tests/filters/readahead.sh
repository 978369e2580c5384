#!/usr/bin/env bash
# readahead filter: sequential reads return the file's bytes and make the
# filter send cache requests for what follows (seen by the log filter
# below it); random reads are still right.  Compared with Debian's nbdkit.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdcopy /usr/bin/python3

disk=$TEST_TMPDIR/disk
head -c 8M /dev/urandom >"$disk"
log=$TEST_TMPDIR/readahead.log
setup_each() { rm -f "$log"; }
check_prefetches() {
    nbdcopy "$1" - | md5sum
    grep -q " Cache id=.* offset=" "$log" || fail "no prefetch (cache) request reached the plugin"
}
same_output readahead --filter=readahead --filter=log file "$disk" logfile="$log" -- \
    check_prefetches {}
[[ $(cat "$TEST_TMPDIR/readahead.out") == "$(md5sum <"$disk")" ]] || fail "readahead changed the bytes"

random_reads() {
    /usr/bin/python3 - "$1" "$disk" <<'PY'
import random, sys
import nbd
h = nbd.NBD()
h.connect_uri(sys.argv[1])
data = open(sys.argv[2], "rb").read()
rng = random.Random(7)
for _ in range(200):
    n = rng.choice((512, 4096, 65536))
    offset = rng.randrange(0, len(data) - n)
    if rng.random() < 0.5:
        offset = min(offset, len(data) - 3 * n)
        assert h.pread(n, offset) == data[offset:offset + n]
        offset += n
    assert h.pread(n, offset) == data[offset:offset + n]
print("ok")
h.shutdown()
PY
}
same_output readahead-random --filter=readahead file "$disk" -- random_reads {}
same_output readahead-memory --filter=readahead memory 1M -- nbdcopy {} -
