#!/usr/bin/env bash
# Many requests in flight on one upstream connection, from many threads:
# fio's verify over several jobs, per-client connections and shared=true,
# and a multi-connection nbdcopy.
source "$(dirname "$0")/../lib/common.sh"
require_commands fio nbdcopy

start_server_unix memory 256M
upstream=$server_sock

for shared in false true; do
  start_server_unix nbd socket="$upstream" shared=$shared
  fio --name=verify --ioengine=nbd --uri="$server_uri" --rw=randwrite --bs=4k \
    --iodepth=16 --numjobs=4 --size=16M --offset_increment=32M --verify=crc32c \
    --verify_fatal=1 --verify_state_save=0 --group_reporting \
    --output="$TEST_TMPDIR/fio-$shared.out" ||
    { cat "$TEST_TMPDIR/fio-$shared.out"; fail "fio verify, shared=$shared"; }
  echo "ok: fio verify, shared=$shared"
done

head -c 32M /dev/urandom >"$TEST_TMPDIR/src"
nbdcopy --connections=4 --requests=16 "$TEST_TMPDIR/src" "$server_uri"
nbdcopy --connections=4 "$server_uri" "$TEST_TMPDIR/back"
cmp -n 33554432 "$TEST_TMPDIR/src" "$TEST_TMPDIR/back" || fail "nbdcopy round trip differs"
echo "$0: PASS"
