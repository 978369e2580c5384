#!/usr/bin/env bash
# blocksize filter: unaligned and long requests give the same data and
# answers as with Debian's nbdkit, the plugin below sees only aligned
# requests no longer than the limits (log filter under it), the size is
# rounded down, and bad parameters are refused.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdinfo /usr/bin/python3

# The file plugin: both prefer 4096-byte blocks (ours says so, Debian's
# advertises nothing).
truncate -s 1000000 "$TEST_TMPDIR/zeroes"
cp "$TEST_TMPDIR/zeroes" "$TEST_TMPDIR/disk"
FRESH_FROM=$TEST_TMPDIR/zeroes FRESH_TO=$TEST_TMPDIR/disk
disk=$TEST_TMPDIR/disk
# Our server never advertises a maximum above its 64M request limit.
CAPS_FIELDS="block_size_(minimum|preferred)|export-size"
limits="minblock=512 maxdata=4k maxlen=8k"
ops="fill:1:1000:ab md5:0:4096 md5:3:10000 zero:100:5000 md5:0:8192 fill:0:20000:cd
     trim:7:3000 zero:4096:4096 fill:999000:424:ef md5:998000:1424 cache:1:100 flush"
# shellcheck disable=SC2086  # parameters are words
for sizes in "" "minblock=512" "$limits"; do
    same_caps "$sizes" --filter=blocksize file "$disk" $sizes
    same_answers "$sizes" "ops_on_fresh_disk $ops --" --filter=blocksize file "$disk" $sizes
done
[[ $answers != *E* ]] || fail "requests refused: $answers"

# What the layer below sees: every request aligned and within the limits.
start_server_unix --filter=blocksize --filter=log memory 1000000 $limits \
    logfile="$TEST_TMPDIR/below.log"
nbd_ops "$server_uri" $ops >/dev/null
nbdinfo --map "$server_uri" >/dev/null
stop_server "$server_pid"
/usr/bin/python3 - "$TEST_TMPDIR/below.log" <<'PY' || fail "unaligned or long requests below"
import re, sys
bad = 0
for line in open(sys.argv[1]):
    m = re.search(r" (Read|Write|Zero|Trim|Cache|Extents) .*offset=(0x[0-9a-f]+|\d+) count=(0x[0-9a-f]+|\d+)", line)
    if not m:
        continue
    op, offset, count = m.group(1), int(m.group(2), 0), int(m.group(3), 0)
    limit = 4096 if op in ("Read", "Write") else 8192
    if offset % 512 or count % 512 or count > limit:
        print(line, end="")
        bad += 1
sys.exit(1 if bad else 0)
PY

expect_bad_parameter "power of 2" --filter=blocksize memory 1M minblock=3
expect_bad_parameter "multiple of 512" --filter=blocksize memory 1M minblock=512 maxdata=1000
