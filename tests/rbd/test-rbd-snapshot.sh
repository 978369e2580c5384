#!/usr/bin/env bash
# snap= serves a snapshot, read-only, whatever the image holds now; -r
# serves the image read-only.
source "$(dirname "$0")/functions.sh"
require_commands nbdsh nbdinfo

image=$(new_image 16M)
"$NBDKIT" -U - rbd "$image" conf="$conf" --run 'nbdsh -u "$uri" -c "h.pwrite(b\"1\" * 4096, 0)"'
rbd snap create --no-progress "$image@first"
"$NBDKIT" -U - rbd "$image" conf="$conf" --run 'nbdsh -u "$uri" -c "h.pwrite(b\"2\" * 4096, 0)"'

start_server_unix rbd "$image" snap=first conf="$conf"
nbdinfo "$server_uri" | grep -q 'is_read_only: true' || fail "snapshot not read-only"
nbdsh -u "$server_uri" -c '
assert h.pread(4096, 0) == b"1" * 4096
try:
    h.pwrite(b"3" * 512, 0)
    raise SystemExit("wrote to a snapshot")
except nbd.Error as e:
    print("ok: write refused:", e)
'
"$NBDKIT" -r -U - rbd "$image" conf="$conf" --run 'nbdsh -u "$uri" -c "
assert h.is_read_only()
assert h.pread(4096, 0) == b\"2\" * 4096
"'
expect_status=0
"$NBDKIT" -U - rbd "$image" snap=missing conf="$conf" --run 'echo served' \
  >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" || expect_status=$?
[ "$expect_status" = 1 ] || fail "a missing snapshot: exit status $expect_status"
cat "$TEST_TMPDIR/err"
echo "$0: PASS"
