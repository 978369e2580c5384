#!/usr/bin/env bash
# Data in and out with qemu-img, checked with `rbd export`; every command
# with nbdsh; trim and block status against `rbd du`/`rbd diff`.
source "$(dirname "$0")/functions.sh"
require_commands qemu-img nbdsh nbdinfo

image=$(new_image 64M)
head -c 64M /dev/urandom >"$TEST_TMPDIR/src"
"$NBDKIT" -U - rbd "$image" conf="$conf" \
  --run "qemu-img convert -n -f raw -O raw $TEST_TMPDIR/src \"\$uri\""
rbd export --no-progress "$image" "$TEST_TMPDIR/exported"
cmp "$TEST_TMPDIR/src" "$TEST_TMPDIR/exported" || fail "rbd export differs from what was written"
"$NBDKIT" -U - rbd "$image" conf="$conf" \
  --run "qemu-img convert -f raw -O raw \"\$uri\" $TEST_TMPDIR/back"
cmp "$TEST_TMPDIR/src" "$TEST_TMPDIR/back" || fail "qemu-img convert out differs"
echo "ok: qemu-img in and out, rbd export"

# Commands, and the space they take: trimming whole objects frees them.
start_server_unix rbd "$image" conf="$conf"
nbdsh -u "$server_uri" -c '
assert h.can_trim() and h.can_zero() and h.can_flush() and h.can_multi_conn()
h.pwrite(b"w" * 65536, 4096, nbd.CMD_FLAG_FUA)
assert h.pread(65536, 4096) == b"w" * 65536
h.zero(4 << 20, 8 << 20)
assert h.pread(4 << 20, 8 << 20) == bytes(4 << 20)
h.trim(32 << 20, 32 << 20)
h.flush()
assert h.pread(65536, 40 << 20) == bytes(65536)
'
# Written 64 MiB, zeroed one 4 MiB object, trimmed 32 MiB: 28 MiB left.
used=$(rbd du --format json "$image" | python3 -c 'import json, sys; print(json.load(sys.stdin)["images"][0]["used_size"] >> 20)')
echo "rbd du after zeroing 4 MiB and trimming 32 MiB of 64: $used MiB used"
((used >= 24 && used <= 32)) || fail "unexpected usage after trim: $used MiB"

# Block status: the holes the map shows are the ranges rbd diff leaves out.
nbdinfo --map "$server_uri" >"$TEST_TMPDIR/map"
cat "$TEST_TMPDIR/map"
awk '$3 == 0 { data += $2 } END { print data }' "$TEST_TMPDIR/map" >"$TEST_TMPDIR/ours"
rbd diff --format json "$image" |
  python3 -c 'import json, sys; print(sum(e["length"] for e in json.load(sys.stdin) if e["exists"] == "true"))' \
  >"$TEST_TMPDIR/theirs"
diff "$TEST_TMPDIR/ours" "$TEST_TMPDIR/theirs" || fail "allocated bytes differ from rbd diff"
grep -q 'hole,zero' "$TEST_TMPDIR/map" || fail "no hole after trim"
echo "$0: PASS"
