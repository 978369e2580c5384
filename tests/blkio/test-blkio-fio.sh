#!/usr/bin/env bash
# Several connections at once on one shared device: fio with four jobs,
# each on its own connection, writing and verifying its own region; then
# nbdcopy with four connections.  With few queues too, so that requests
# wait for a free one.
. "$(dirname "$0")/functions.sh"
require_commands fio nbdcopy
require_io_uring

source_data=$TEST_TMPDIR/source.img
head -c 32M /dev/urandom >"$source_data"
disk=$TEST_TMPDIR/disk.img
for queues in "" num-queues=2; do
  rm -f "$disk"
  truncate -s 32M "$disk"
  # shellcheck disable=SC2086
  start_server_unix blkio io_uring path="$disk" $queues
  fio --verify_state_save=0 --name=verify --ioengine=nbd --uri="$server_uri" --numjobs=4 \
    --size=8M --offset_increment=8M --rw=randwrite --bs=4k --iodepth=16 --verify=crc32c \
    --do_verify=1 --verify_fatal=1 --output="$TEST_TMPDIR/fio.log" ||
    fail "$queues fio verify: $(cat "$TEST_TMPDIR/fio.log")"
  grep -q 'err= 0' "$TEST_TMPDIR/fio.log" || fail "$queues fio: $(cat "$TEST_TMPDIR/fio.log")"
  nbdcopy --connections=4 --requests=16 "$source_data" "$server_uri"
  stop_server "$server_pid"
  cmp "$source_data" "$disk" || fail "$queues nbdcopy --connections=4: the file differs"
done
echo "$0: PASS"
