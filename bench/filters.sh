#!/bin/bash
# Filter benchmark (not a test): our server against Debian's nbdkit, side
# by side in one run, with the same filter stack over `file` on a
# page-cached file in /dev/shm, over a Unix socket:
#
#   --filter=cow       4k random read, and 4k random read/write (50/50)
#                      (each run starts with an empty overlay), with the
#                      overlay in /var/tmp and in /dev/shm;
#   --filter=tar       4k random read of a member of a tar archive;
#   --filter=offset    4k random read of a window of the file;
#   no filter          4k random read, for the filters' cost.
#
# fio (nbd engine, one connection, QD32).  Prints requests/s and server
# CPU per request for both servers, and the ratios ours / nbdkit.
#
# Usage: bench/filters.sh
# Environment: NBDKIT (ours, default build/nbdkit), REFERENCE_NBDKIT
# (default /usr/bin/nbdkit), BENCH_SECONDS per fio job (default 10),
# FILE_SIZE (default 256M).
source "$(dirname "$0")/lib.sh"
require_commands fio tar
[[ -x $NBDKIT ]] || fail "$NBDKIT is not built (build it, or set NBDKIT)"

ours_nbdkit=$NBDKIT
reference_nbdkit=${REFERENCE_NBDKIT:-/usr/bin/nbdkit}
seconds=${BENCH_SECONDS:-10}
file_size=${FILE_SIZE:-256M}

dir=$(mktemp -d /dev/shm/nbdkit-filters-bench.XXXXXX)
on_exit "rm -rf '$dir'"
echo hello >"$dir/readme.txt"
head -c "$file_size" /dev/urandom >"$dir/disk.img"
tar -C "$dir" -cf "$dir/data.tar" readme.txt disk.img

echo "ours:   $ours_nbdkit ($("$ours_nbdkit" --version | head -1))"
echo "nbdkit: $reference_nbdkit ($("$reference_nbdkit" --version | head -1))"
echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), kernel $(uname -r)"
echo "files in /dev/shm, $file_size, $seconds s per job, fio QD32 one connection"
echo
printf '%-24s %9s %9s %6s %9s %9s %6s\n' workload ours nbdkit ratio "CPU us" "CPU us" ratio
printf '%-24s %9s %9s %6s %9s %9s %6s\n' "" "req/s" "req/s" "" ours nbdkit ""

# compare LABEL SERVER-ARGS... -- FIO-ARGS...: one fio job against each
# server (ours first), both started with SERVER-ARGS.
compare() {
    local label=$1 args=() ours reference
    shift
    while [[ $1 != -- ]]; do args+=("$1"); shift; done
    shift
    NBDKIT=$ours_nbdkit start_server_unix "${args[@]}"
    read -ra ours <<<"$(measure "$server_pid" run_fio "$server_uri" "$seconds" "$@")"
    stop_server "$server_pid"
    NBDKIT=$reference_nbdkit start_server_unix "${args[@]}"
    read -ra reference <<<"$(measure "$server_pid" run_fio "$server_uri" "$seconds" "$@")"
    stop_server "$server_pid"
    printf '%-24s %9s %9s %6s %9s %9s %6s\n' "$label" \
        "${ours[0]}" "${reference[0]}" "$(ratio "${ours[0]}" "${reference[0]}")" \
        "${ours[2]}" "${reference[2]}" "$(ratio "${ours[2]}" "${reference[2]}")"
    record "$label" "req/s" "${ours[0]}" "${reference[0]}"
    record "$label" "CPU us/req" "${ours[2]}" "${reference[2]}"
}

randread=(--rw=randread --bs=4k --iodepth=32)
compare "file 4k randread" file "$dir/disk.img" -- "${randread[@]}"
compare "cow 4k randread" --filter=cow file "$dir/disk.img" -- "${randread[@]}"
compare "cow 4k randrw" --filter=cow file "$dir/disk.img" -- \
    --rw=randrw --rwmixread=50 --bs=4k --iodepth=32
# The overlay in memory: ours then runs the requests on the connection's
# thread (nothing can wait for a disk).
TMPDIR=/dev/shm compare "cow (shm) 4k randread" --filter=cow file "$dir/disk.img" -- "${randread[@]}"
TMPDIR=/dev/shm compare "cow (shm) 4k randrw" --filter=cow file "$dir/disk.img" -- \
    --rw=randrw --rwmixread=50 --bs=4k --iodepth=32
compare "tar 4k randread" --filter=tar file "$dir/data.tar" tar-entry=disk.img -- "${randread[@]}"
compare "offset 4k randread" --filter=offset file "$dir/disk.img" offset=1M -- "${randread[@]}"
