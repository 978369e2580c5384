#!/bin/bash
# Cache filter benchmark (not a test): our server against Debian's
# nbdkit, side by side in one run, both serving `--filter=cache file` on
# the same page-cached file in /dev/shm over a Unix socket, the cache in
# $TMPDIR (default /var/tmp) and, for the last rows, in /dev/shm:
#
#   4k random read (cache-on-read=false, the default, and true), 4k
#   random write (cache=writeback, the default, and writethrough);
#
# fio (nbd engine, one connection, QD32); each server starts with an
# empty cache.  Prints requests/s, MiB/s and server CPU per request for
# both servers, and the ratios ours / nbdkit.
#
# Usage: bench/cache.sh
# Environment: NBDKIT (ours, default build/nbdkit), REFERENCE_NBDKIT
# (default /usr/bin/nbdkit), BENCH_SECONDS per fio job (default 10),
# FILE_SIZE (default 256M).
source "$(dirname "$0")/lib.sh"
require_commands fio
[[ -x $NBDKIT ]] || fail "$NBDKIT is not built (build it, or set NBDKIT)"

file_size=${FILE_SIZE:-256M}
disk=$(mktemp /dev/shm/nbdkit-cache-bench.XXXXXX)
on_exit "rm -f '$disk'"
head -c "$file_size" /dev/urandom >"$disk"

print_setup
echo "file in /dev/shm, $file_size, cache in ${TMPDIR:-/var/tmp}, $seconds s per job"

# compare LABEL ARGS... -- FIO-ARGS...: one fio job against each server
# (ours first), both serving --filter=cache file $disk ARGS.
compare() {
    local label=$1 args=() ours reference
    shift
    while [[ $1 != -- ]]; do args+=("$1"); shift; done
    shift
    NBDKIT=$ours_nbdkit start_server_unix --filter=cache file "$disk" "${args[@]}"
    ours=$(measure "$server_pid" run_fio "$server_uri" "$seconds" "$@")
    stop_server "$server_pid"
    NBDKIT=$reference_nbdkit start_server_unix --filter=cache file "$disk" "${args[@]}"
    reference=$(measure "$server_pid" run_fio "$server_uri" "$seconds" "$@")
    stop_server "$server_pid"
    print_comparison "$label" "$ours" "$reference"
}

randread=(--rw=randread --bs=4k --iodepth=32)
randwrite=(--rw=randwrite --bs=4k --iodepth=32)
workloads() {
    local where=$1
    compare "4k randread$where" -- "${randread[@]}"
    compare "4k randread onread$where" cache-on-read=true -- "${randread[@]}"
    compare "4k randwrite$where" -- "${randwrite[@]}"
    compare "4k randwrite wthru$where" cache=writethrough -- "${randwrite[@]}"
}

fio_table_header "--filter=cache file (QD32, one connection)"
workloads ""
TMPDIR=/dev/shm workloads " shm"
