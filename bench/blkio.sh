#!/bin/bash
# blkio plugin benchmark (not a test): our `blkio io_uring path=F` against
# Debian's `nbdkit file F` (Debian's nbdkit has no blkio plugin), side by
# side in one run over a Unix socket:
#
#   a file on disk (BENCH_DISK_DIR) read into the page cache first (not
#   /dev/shm: io_uring cannot read tmpfs without blocking, so every
#   request would go through one of its kernel worker threads), and
#   the same file evicted from the cache before each run: ours with
#   direct=true (O_DIRECT), nbdkit's with cache=none;
#
# fio (nbd engine, one connection): 4k random read and write at queue
# depth 32, 1 MiB sequential read and write at queue depth 8.  Prints
# requests/s, MiB/s and server CPU per request for both servers, and the
# ratios ours / nbdkit.
#
# Usage: bench/blkio.sh
# Environment: NBDKIT (ours, default build/nbdkit), REFERENCE_NBDKIT
# (default /usr/bin/nbdkit), BENCH_SECONDS per fio job (default 10),
# FILE_SIZE (default 1G), BENCH_DISK_DIR (default /var/tmp).
source "$(dirname "$0")/lib.sh"
require_commands fio
[[ -x $NBDKIT ]] || fail "$NBDKIT is not built (build it, or set NBDKIT)"
"$NBDKIT" blkio --dump-plugin | grep -qx blkio_driver_io_uring=yes ||
  fail "$NBDKIT has no io_uring driver (built without liburing)"

ours_nbdkit=$NBDKIT
reference_nbdkit=${REFERENCE_NBDKIT:-/usr/bin/nbdkit}
seconds=${BENCH_SECONDS:-10}
file_size=${FILE_SIZE:-1G}
disk_dir=${BENCH_DISK_DIR:-/var/tmp}

disk_file=$(mktemp "$disk_dir/nbdkit-blkio-bench.XXXXXX")
on_exit "rm -f '$disk_file'"
head -c "$file_size" /dev/urandom >"$disk_file"
sync "$disk_file"

echo "ours:   $ours_nbdkit blkio io_uring ($("$ours_nbdkit" --version | head -1))"
echo "nbdkit: $reference_nbdkit file ($("$reference_nbdkit" --version | head -1))"
echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), kernel $(uname -r)"
echo "disk file in $disk_dir ($(df --output=fstype "$disk_dir" | tail -1)), $file_size, $seconds s per job"

# run_server NBDKIT ARGS... -- FIO-ARGS...: one fio job against a server;
# sets result to (REQ/S BYTES/S CPU-US-PER-REQUEST).  The file is read
# into the page cache, or evicted from it ($cached), first, so that every
# run starts alike.
run_server() {
  local server=$1 args=()
  shift
  while [[ $1 != -- ]]; do args+=("$1"); shift; done
  shift
  if [[ $cached == yes ]]; then
    cat "$file" >/dev/null
  else
    dd if="$file" iflag=nocache count=0 status=none
  fi
  NBDKIT=$server start_server_unix "${args[@]}"
  read -ra result <<<"$(measure "$server_pid" run_fio "$server_uri" "$seconds" "$@")"
  stop_server "$server_pid"
}

# compare LABEL FIO-ARGS...: ours then nbdkit on $file.
compare() {
  local label=$1 ours reference
  shift
  run_server "$ours_nbdkit" blkio io_uring path="$file" "${ours_args[@]}" -- "$@"
  ours=("${result[@]}")
  run_server "$reference_nbdkit" file "$file" "${reference_args[@]}" -- "$@"
  reference=("${result[@]}")
  fio_table_row "$label" "${ours[*]}" "${reference[*]}"
  record "$where: $label" "req/s" "${ours[0]}" "${reference[0]}"
  record "$where: $label" "CPU us/req" "${ours[2]}" "${reference[2]}"
}

workloads() {
  fio_table_header "$where"
  compare "4k randread QD32" --rw=randread --bs=4k --iodepth=32
  compare "4k randwrite QD32" --rw=randwrite --bs=4k --iodepth=32
  compare "1M read QD8" --rw=read --bs=1M --iodepth=8
  compare "1M write QD8" --rw=write --bs=1M --iodepth=8
}

file=$disk_file
cached=yes where="page-cached" ours_args=() reference_args=()
workloads
cached=no where="on disk: direct=true vs cache=none" ours_args=(direct=true)
reference_args=(cache=none)
workloads
