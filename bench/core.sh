#!/bin/bash
# Core benchmark (not a test): our server against Debian's nbdkit, side by
# side in one run, both serving the null plugin on a Unix socket.
#
#   fio, nbd engine, one connection: 4k random read and write at queue
#   depth 32, 1 MiB sequential read and write at queue depth 8;
#   nbdcopy of a 2 GiB null export to null: (data really moved);
#   the raw Unix socket bandwidth of this machine, as the ceiling.
#
# Prints requests per second, bandwidth and the server's CPU time per
# request (utime + stime of the server process over the run, divided by
# the requests completed) for both servers, and each as ours / nbdkit.
#
# Usage: bench/core.sh
# Environment: NBDKIT (ours, default build/nbdkit), REFERENCE_NBDKIT
# (default /usr/bin/nbdkit), BENCH_SECONDS per fio job (default 10),
# COPY_SIZE (default 2G).
source "$(dirname "$0")/lib.sh"
require_commands fio nbdcopy nbdinfo g++
[[ -x $NBDKIT ]] || fail "$NBDKIT is not built (build it, or set NBDKIT)"

copy_size=${COPY_SIZE:-2G}

# start_both SIZE: null servers of SIZE, ours and nbdkit.
start_both() {
    NBDKIT=$ours_nbdkit start_server_unix null "$1"
    ours_pid=$server_pid
    ours_uri=$server_uri
    NBDKIT=$reference_nbdkit start_server_unix null "$1"
    reference_pid=$server_pid
    reference_uri=$server_uri
}

# copy_to_null URI: nbdcopy of the whole export to null:, printing
# "REQUESTS SECONDS BYTES" with requests counted as nbdcopy's 256 KiB
# reads.  --no-extents: null is all hole, and without it nbdcopy would
# move no data at all.
copy_to_null() {
    local bytes start end
    bytes=$(nbdinfo --size "$1")
    start=$(date +%s.%N)
    nbdcopy --no-extents "$1" null:
    end=$(date +%s.%N)
    awk -v b="$bytes" -v s="$start" -v e="$end" \
        'BEGIN { printf "%d %.6f %d\n", b / 262144, e - s, b }'
}

print_row() {
    printf '%-16s %11s %11s %5s %9s %9s %5s %8s %8s %5s\n' "$@"
}

# report NAME OURS REFERENCE: one table row from two measure results.
report() {
    local name=$1 ours reference
    read -ra ours <<<"$2"
    read -ra reference <<<"$3"
    print_row "$name" \
        "${ours[0]}" "${reference[0]}" "$(ratio "${ours[0]}" "${reference[0]}")" \
        $((ours[1] >> 20)) $((reference[1] >> 20)) "$(ratio "${ours[1]}" "${reference[1]}")" \
        "${ours[2]}" "${reference[2]}" "$(ratio "${ours[2]}" "${reference[2]}")"
    record "$name" "req/s" "${ours[0]}" "${reference[0]}"
    record "$name" "MiB/s" "${ours[1]}" "${reference[1]}"
    record "$name" "server CPU us/req" "${ours[2]}" "${reference[2]}"
}

g++ -std=c++20 -O2 -o "$TEST_TMPDIR/unix_bandwidth" "$SRCDIR/bench/unix_bandwidth.cpp"

print_setup
echo "fio: nbd engine, 1 connection, $seconds s per job; servers: null plugin, Unix socket"
echo
print_row "" "req/s" "req/s" "" "MiB/s" "MiB/s" "" "CPU us" "CPU us" ""
print_row workload ours nbdkit ratio ours nbdkit ratio ours nbdkit ratio

start_both 16G
workloads=(
    "4k randread QD32|--rw=randread --bs=4k --iodepth=32"
    "4k randwrite QD32|--rw=randwrite --bs=4k --iodepth=32"
    "1M read QD8|--rw=read --bs=1M --iodepth=8"
    "1M write QD8|--rw=write --bs=1M --iodepth=8"
)
declare -A ours_bandwidth
for workload in "${workloads[@]}"; do
    name=${workload%%|*}
    read -ra fio_args <<<"${workload#*|}"
    ours_result=$(measure "$ours_pid" run_fio "$ours_uri" "$seconds" "${fio_args[@]}")
    reference_result=$(measure "$reference_pid" run_fio "$reference_uri" "$seconds" "${fio_args[@]}")
    report "$name" "$ours_result" "$reference_result"
    read -r _ bandwidth _ <<<"$ours_result"
    ours_bandwidth[$name]=$bandwidth
done
stop_server "$ours_pid"
stop_server "$reference_pid"

start_both "$copy_size"
report "nbdcopy $copy_size" \
    "$(measure "$ours_pid" copy_to_null "$ours_uri")" \
    "$(measure "$reference_pid" copy_to_null "$reference_uri")"

raw=$("$TEST_TMPDIR/unix_bandwidth" "$seconds")
echo
echo "raw Unix socket (1 MiB writes): $((raw >> 20)) MiB/s"
for name in "1M read QD8" "1M write QD8"; do
    echo "$name vs raw Unix socket = $(awk -v a="${ours_bandwidth[$name]}" -v b="$raw" \
        'BEGIN { printf "%.0f", 100 * a / b }')% (ours)"
done
