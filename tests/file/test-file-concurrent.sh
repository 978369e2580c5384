#!/usr/bin/env bash
# Several connections writing at once (multi-conn): nbdcopy with four
# connections, then fio with four jobs, each on its own connection,
# writing and verifying its own region.  Run on a file in /dev/shm (the
# server runs requests on the connection threads) and in $TEST_TMPDIR
# (worker threads).
. "$(dirname "$0")/functions.sh"
require_commands nbdcopy fio

source_data=$TEST_TMPDIR/source.img
head -c 32M /dev/urandom >"$source_data"

for dir in /dev/shm "$TEST_TMPDIR"; do
  [ -d "$dir" ] && [ -w "$dir" ] || continue
  disk=$(mktemp "$dir/nbdkit-file-test.XXXXXX")
  on_exit "rm -f '$disk'"
  truncate -s 32M "$disk"
  start_server_unix file "$disk"
  nbdcopy --connections=4 --requests=16 "$source_data" "$server_uri"
  cmp "$source_data" "$disk" || fail "$dir: nbdcopy --connections=4: the file differs"

  fio --verify_state_save=0 --name=verify --ioengine=nbd --uri="$server_uri" --numjobs=4 --size=8M \
    --offset_increment=8M --rw=randwrite --bs=4k --iodepth=16 --verify=crc32c \
    --do_verify=1 --verify_fatal=1 --output="$TEST_TMPDIR/fio.log" ||
    fail "$dir: fio verify: $(cat "$TEST_TMPDIR/fio.log")"
  grep -q 'err= 0' "$TEST_TMPDIR/fio.log" || fail "$dir: fio: $(cat "$TEST_TMPDIR/fio.log")"
  stop_server "$server_pid"
done
echo "$0: PASS"
