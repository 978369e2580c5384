#!/usr/bin/env bash
# get=PROPERTY prints the value in the debug output once the device is
# started; a property that cannot be read is reported, not fatal.
. "$(dirname "$0")/functions.sh"
require_commands nbdinfo
require_io_uring

disk=$TEST_TMPDIR/disk.img
truncate -s 10000000 "$disk"
log=$TEST_TMPDIR/log
"$NBDKIT" -v -U - blkio io_uring path="$disk" num-entries=64 \
  get=capacity get=request-alignment get=num-queues get=num-entries get=read-only \
  get=driver get=needs-mem-regions get=can-grow get=path get=direct get=max-transfer \
  get=no-such-property --run 'nbdinfo --size "$uri"' >"$TEST_TMPDIR/out" 2>"$log"
[ "$(cat "$TEST_TMPDIR/out")" = 10000000 ] || fail "size: $(cat "$TEST_TMPDIR/out")"
for line in 'get capacity = 10000000' 'get request-alignment = 1' 'get num-queues = 16' \
    'get num-entries = 64' 'get read-only = false' 'get driver = io_uring' \
    'get needs-mem-regions = false' 'get can-grow = true' "get path = $disk" \
    'get direct = false' 'get max-transfer = 0' 'get no-such-property: Unknown property name'; do
  grep -qF "$line" "$log" || fail "debug output lacks '$line': $(grep 'get ' "$log")"
done

# Without -v nothing is printed; with -r, read-only reads back true.
"$NBDKIT" -U - -r blkio io_uring path="$disk" get=capacity num-queues=2 get=num-queues \
  --run 'nbdinfo --size "$uri"' >/dev/null 2>"$log"
grep -q 'get ' "$log" && fail "get= printed without -v: $(cat "$log")"
"$NBDKIT" -v -U - -r blkio io_uring path="$disk" get=read-only num-queues=2 get=num-queues \
  --run 'nbdinfo --size "$uri"' >/dev/null 2>"$log"
grep -qF 'get read-only = true' "$log" || fail "-r: $(grep 'get ' "$log")"
grep -qF 'get num-queues = 2' "$log" || fail "num-queues=2: $(grep 'get ' "$log")"
echo "$0: PASS"
