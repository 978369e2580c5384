#!/usr/bin/env bash
# Several NBD clients at once on one image: fio's verify with four
# connections, and a four-connection nbdcopy round trip.
source "$(dirname "$0")/functions.sh"
require_commands fio nbdcopy

image=$(new_image 128M)
start_server_unix rbd "$image" conf="$conf"
fio --name=verify --ioengine=nbd --uri="$server_uri" --rw=randwrite --bs=4k --iodepth=16 \
  --numjobs=4 --size=8M --offset_increment=32M --verify=crc32c --verify_fatal=1 \
  --verify_state_save=0 --group_reporting --output="$TEST_TMPDIR/fio.out" ||
  { cat "$TEST_TMPDIR/fio.out"; fail "fio verify"; }
echo "ok: fio verify, 4 connections"
head -c 64M /dev/urandom >"$TEST_TMPDIR/src"
nbdcopy --connections=4 "$TEST_TMPDIR/src" "$server_uri"
nbdcopy --connections=4 "$server_uri" "$TEST_TMPDIR/back"
cmp -n 67108864 "$TEST_TMPDIR/src" "$TEST_TMPDIR/back" || fail "nbdcopy round trip differs"
echo "$0: PASS"
