#!/usr/bin/env bash
# cache=none: the data is right, and writing a file through the server
# leaves little of it in the page cache (fincore).  Reading leaves less
# than the default mode, and no more than Debian's nbdkit leaves: the
# kernel keeps large folios that straddle the end of a range read, and
# pages read ahead, for both servers.
. "$(dirname "$0")/functions.sh"
require_commands nbdcopy fincore
df --output=fstype "$TEST_TMPDIR" | grep -q tmpfs && skip "$TEST_TMPDIR is a tmpfs: no page cache to keep out"

source_data=$TEST_TMPDIR/source.img
disk=$TEST_TMPDIR/disk.img
head -c 64M /dev/urandom >"$source_data"
truncate -s 64M "$disk"
size=$((64 << 20))

# cached_bytes FILE: bytes of FILE in the page cache.
cached_bytes() {
  fincore --bytes --noheadings --output RES "$1" | tr -d ' '
}

start_server_unix file "$disk" cache=none
nbdcopy "$source_data" "$server_uri"
stop_server "$server_pid"
cached=$(cached_bytes "$disk")
((cached < size / 4)) || fail "cache=none: $cached bytes cached after writing"
cmp "$source_data" "$disk" || fail "cache=none: written data differs"

# read_cached SERVER ARGS...: sets `cached` to the bytes of $disk cached
# after reading it all through SERVER from a cold page cache.  Not for a
# subshell: the servers must be tracked by this shell.
read_cached() {
  dd if="$disk" iflag=nocache count=0 status=none
  NBDKIT=$1 start_server_unix file "$disk" "${@:2}"
  nbdcopy "$server_uri" "$TEST_TMPDIR/copy.img"
  stop_server "$server_pid"
  cmp "$source_data" "$TEST_TMPDIR/copy.img" || fail "$*: read data differs"
  cached=$(cached_bytes "$disk")
}

read_cached "$NBDKIT" cache=none
uncached=$cached
read_cached "$NBDKIT"
((uncached < cached * 9 / 10)) || fail "cache=none keeps $uncached bytes, the default $cached"
if [ -x "$REFERENCE_NBDKIT" ]; then
  read_cached "$REFERENCE_NBDKIT" cache=none
  reference=$cached
  ((uncached <= reference + size / 8)) ||
    fail "cache=none keeps $uncached bytes, Debian's nbdkit $reference"
fi
echo "$0: PASS"
