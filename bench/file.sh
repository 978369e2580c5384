#!/bin/bash
# File plugin benchmark (not a test): our server against Debian's nbdkit,
# side by side in one run, both serving `file` on the same file over a
# Unix socket:
#
#   a page-cached file in /dev/shm (default cache mode), and
#   a file on disk (BENCH_DISK_DIR) with cache=none;
#
# fio (nbd engine, one connection): 4k random read and write at queue
# depth 32, 1 MiB sequential read and write at queue depth 8.  Prints
# requests/s, MiB/s and server CPU per request for both servers, and the
# ratios ours / nbdkit.
#
# Usage: bench/file.sh
# Environment: NBDKIT (ours, default build/nbdkit), REFERENCE_NBDKIT
# (default /usr/bin/nbdkit), BENCH_SECONDS per fio job (default 10),
# FILE_SIZE (default 1G), BENCH_DISK_DIR (default /var/tmp).
source "$(dirname "$0")/lib.sh"
require_commands fio
[[ -x $NBDKIT ]] || fail "$NBDKIT is not built (build it, or set NBDKIT)"

file_size=${FILE_SIZE:-1G}
disk_dir=${BENCH_DISK_DIR:-/var/tmp}

shm_file=$(mktemp /dev/shm/nbdkit-file-bench.XXXXXX)
disk_file=$(mktemp "$disk_dir/nbdkit-file-bench.XXXXXX")
on_exit "rm -f '$shm_file' '$disk_file'"
head -c "$file_size" /dev/urandom >"$shm_file"
cp "$shm_file" "$disk_file"
sync "$disk_file"

# drop_cached FILE: evicts FILE's pages from the page cache, so that a
# cache=none run starts from the disk for both servers.
drop_cached() {
    dd if="$1" iflag=nocache count=0 status=none
}

print_setup
echo "disk file in $disk_dir ($(df --output=fstype "$disk_dir" | tail -1)), $file_size, $seconds s per job"

# compare LABEL FILE ARGS... -- FIO-ARGS...: one fio job against each
# server (ours first), both serving FILE with ARGS.
compare() {
    local label=$1 file=$2 args=() fio_args ours reference
    shift 2
    while [[ $1 != -- ]]; do args+=("$1"); shift; done
    shift
    fio_args=("$@")
    [[ " ${args[*]} " == *" cache=none "* ]] && drop_cached "$file"
    NBDKIT=$ours_nbdkit start_server_unix file "$file" "${args[@]}"
    read -ra ours <<<"$(measure "$server_pid" run_fio "$server_uri" "$seconds" "${fio_args[@]}")"
    stop_server "$server_pid"
    [[ " ${args[*]} " == *" cache=none "* ]] && drop_cached "$file"
    NBDKIT=$reference_nbdkit start_server_unix file "$file" "${args[@]}"
    read -ra reference <<<"$(measure "$server_pid" run_fio "$server_uri" "$seconds" "${fio_args[@]}")"
    stop_server "$server_pid"
    fio_table_row "$label" "${ours[*]}" "${reference[*]}"
}

workloads() {
    local file=$1
    shift
    compare "4k randread QD32" "$file" "$@" -- --rw=randread --bs=4k --iodepth=32
    compare "4k randwrite QD32" "$file" "$@" -- --rw=randwrite --bs=4k --iodepth=32
    compare "1M read QD8" "$file" "$@" -- --rw=read --bs=1M --iodepth=8
    compare "1M write QD8" "$file" "$@" -- --rw=write --bs=1M --iodepth=8
}

fio_table_header "page-cached file in /dev/shm"
workloads "$shm_file"
fio_table_header "file on disk, cache=none"
workloads "$disk_file" cache=none
