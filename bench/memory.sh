#!/bin/bash
# Memory plugin benchmark (not a test): our server against Debian's nbdkit,
# side by side in one run, both serving `memory` on a Unix socket.
#
#   first fill of a FILL_SIZE disk with nbdcopy from a file of random data
#   on tmpfs (sparse and malloc allocators);
#   RSS after that fill, and after trimming the whole disk;
#   fio (nbd engine, one connection) 4k random read/write at queue depth 32
#   on a filled 1 GiB disk: IOPS and server CPU per request;
#   RSS taken by one byte written at 2^62 on a 2^63-1 byte disk.
#
# Prints each figure for both servers and ours / nbdkit.
#
# Usage: bench/memory.sh
# Environment: NBDKIT (ours, default build/nbdkit), REFERENCE_NBDKIT
# (default /usr/bin/nbdkit), BENCH_SECONDS per fio job (default 10),
# FILL_SIZE (default 2G; the data file lives in /dev/shm meanwhile),
# FILL_RUNS (fills per server and allocator, the best counts; default 3).
source "$(dirname "$0")/lib.sh"
require_commands fio nbdcopy nbdsh
[[ -x $NBDKIT ]] || fail "$NBDKIT is not built (build it, or set NBDKIT)"

fill_size=${FILL_SIZE:-2G}
fill_runs=${FILL_RUNS:-3}

data=$(mktemp /dev/shm/nbdkit-memory-bench.XXXXXX)
on_exit "rm -f '$data'"
head -c "$fill_size" /dev/urandom >"$data"
fill_bytes=$(stat -c %s "$data")

rss_kib() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# seconds_of COMMAND...: wall time of COMMAND.
seconds_of() {
    local start end
    start=$(date +%s.%N)
    "$@"
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }'
}

trim_all() {
    nbdsh -u "$1" -c '
size = h.get_size()
step = 1 << 30
for offset in range(0, size, step):
    h.trim(min(step, size - offset), offset)
'
}

# fill_and_trim NBDKIT ALLOCATOR: sets fill_speed (MiB/s, the best of
# $fill_runs fills, each into a new server: on a virtual machine the first
# touch of memory costs whatever the host makes it cost, which varies
# twofold between runs), filled_kib and trimmed_kib (RSS net of the idle
# server's, from the last run).  Not for a subshell: the servers must be
# tracked by this shell.
fill_and_trim() {
    local idle elapsed speed run
    fill_speed=0
    for ((run = 0; run < fill_runs; run++)); do
        NBDKIT=$1 start_server_unix memory "$fill_size" allocator="$2"
        idle=$(rss_kib "$server_pid")
        elapsed=$(seconds_of nbdcopy "$data" "$server_uri")
        filled_kib=$(($(rss_kib "$server_pid") - idle))
        trim_all "$server_uri"
        trimmed_kib=$(($(rss_kib "$server_pid") - idle))
        stop_server "$server_pid"
        speed=$(awk -v b="$fill_bytes" -v s="$elapsed" 'BEGIN { printf "%.0f", b / s / 1048576 }')
        if ((speed > fill_speed)); then fill_speed=$speed; fi
    done
}

percent() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f%%", 100 * a / b }'
}

print_setup
echo

echo "First fill of a $fill_size disk with nbdcopy (MiB/s, best of $fill_runs), RSS after it and after trimming all:"
printf '%-10s %9s %9s %6s %10s %10s\n' allocator ours nbdkit ratio "trim ours" "trim nbdkit"
for allocator in sparse malloc; do
    fill_and_trim "$ours_nbdkit" $allocator
    ours_speed=$fill_speed ours_filled=$filled_kib ours_trimmed=$trimmed_kib
    fill_and_trim "$reference_nbdkit" $allocator
    ref_speed=$fill_speed ref_filled=$filled_kib ref_trimmed=$trimmed_kib
    printf '%-10s %9s %9s %6s %10s %10s\n' "$allocator" "$ours_speed" "$ref_speed" \
        "$(ratio "$ours_speed" "$ref_speed")" \
        "$(percent "$ours_trimmed" $((fill_bytes >> 10)))" \
        "$(percent "$ref_trimmed" $((fill_bytes >> 10)))"
    echo "           RSS after fill: ours $((ours_filled >> 10)) MiB, nbdkit $((ref_filled >> 10)) MiB"
done
echo

echo "fio 4k random read/write, queue depth 32, filled 1 GiB sparse disk, $seconds s:"
printf '%-16s %9s %9s %6s %8s %8s %6s\n' workload "ours" "nbdkit" ratio "CPU us" "CPU us" ratio
printf '%-16s %9s %9s %6s %8s %8s %6s\n' "" "req/s" "req/s" "" ours nbdkit ""
NBDKIT=$ours_nbdkit start_server_unix memory 1G
ours_pid=$server_pid ours_uri=$server_uri
NBDKIT=$reference_nbdkit start_server_unix memory 1G
reference_pid=$server_pid reference_uri=$server_uri
head -c 1G "$data" >"$data.1g"
on_exit "rm -f '$data.1g'"
nbdcopy "$data.1g" "$ours_uri"
nbdcopy "$data.1g" "$reference_uri"
rm -f "$data.1g"
for rw in randread randwrite randrw; do
    read -ra ours <<<"$(measure "$ours_pid" run_fio "$ours_uri" "$seconds" \
        --rw=$rw --bs=4k --iodepth=32)"
    read -ra reference <<<"$(measure "$reference_pid" run_fio "$reference_uri" "$seconds" \
        --rw=$rw --bs=4k --iodepth=32)"
    printf '%-16s %9s %9s %6s %8s %8s %6s\n' "4k $rw QD32" \
        "${ours[0]}" "${reference[0]}" "$(ratio "${ours[0]}" "${reference[0]}")" \
        "${ours[2]}" "${reference[2]}" "$(ratio "${ours[2]}" "${reference[2]}")"
done
stop_server "$ours_pid"
stop_server "$reference_pid"
echo

echo "Extra RSS for one byte written at 2^62 on a 2^63-1 byte disk (KiB):"
for which in ours reference; do
    binary=$ours_nbdkit
    [[ $which == reference ]] && binary=$reference_nbdkit
    NBDKIT=$binary start_server_unix memory $(((1 << 63) - 1))
    idle=$(rss_kib "$server_pid")
    nbdsh -u "$server_uri" -c 'h.pwrite(b"x", 2**62)'
    echo "  $which: $(($(rss_kib "$server_pid") - idle))"
    stop_server "$server_pid"
done
