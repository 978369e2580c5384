#!/bin/bash
# Computed-content plugins benchmark (not a test): our server against
# Debian's nbdkit, side by side in one run, each serving the same
# arguments on a Unix socket.
#
#   nbdcopy of the whole disk to null: (nbdcopy's defaults: multi-conn,
#   extents, 4 threads) for pattern, random and sparse-random: throughput
#   and server CPU seconds per GiB copied;
#   fio (nbd engine, one connection) random reads, 4k at queue depth 32 and
#   1M at queue depth 8, for pattern and random: requests per second and
#   server CPU per request.
#
# Prints each figure for both servers and ours / nbdkit.
#
# Usage: bench/plugins.sh
# Environment: NBDKIT (ours, default build/nbdkit), REFERENCE_NBDKIT
# (default /usr/bin/nbdkit), BENCH_SECONDS per fio job (default 10),
# COPY_GIB, the disk size for pattern and random (default 4; sparse-random
# is 8 times that at its default 10% data), COPY_RUNS (the best counts;
# default 3).
source "$(dirname "$0")/lib.sh"
require_commands fio nbdcopy
[[ -x $NBDKIT ]] || fail "$NBDKIT is not built (build it, or set NBDKIT)"

ours_nbdkit=$NBDKIT
reference_nbdkit=${REFERENCE_NBDKIT:-/usr/bin/nbdkit}
seconds=${BENCH_SECONDS:-10}
copy_gib=${COPY_GIB:-4}
copy_runs=${COPY_RUNS:-3}

echo "ours:   $ours_nbdkit ($("$ours_nbdkit" --version | head -1))"
echo "nbdkit: $reference_nbdkit ($("$reference_nbdkit" --version | head -1))"
echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), kernel $(uname -r)"
# Throughput depends on the CPU share the servers get: on a busy machine
# the one with more threads gets more.  Server CPU per GiB does not.
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# copy_to_null NBDKIT GIB ARGS...: sets copy_speed (MiB/s of the disk,
# the best of $copy_runs copies) and copy_cpu (server CPU seconds per GiB
# of disk in that run), each run against a new server.
copy_to_null() {
    local binary=$1 gib=$2 run elapsed ticks speed
    shift 2
    copy_speed=0
    for ((run = 0; run < copy_runs; run++)); do
        NBDKIT=$binary start_server_unix "$@"
        ticks=$(process_cpu_ticks "$server_pid")
        elapsed=$(seconds_of nbdcopy "$server_uri" null:)
        ticks=$(($(process_cpu_ticks "$server_pid") - ticks))
        stop_server "$server_pid"
        speed=$(awk -v g="$gib" -v s="$elapsed" 'BEGIN { printf "%.0f", g * 1024 / s }')
        if ((speed > copy_speed)); then
            copy_speed=$speed
            copy_cpu=$(awk -v t="$ticks" -v hz="$CLOCK_TICKS_PER_SECOND" -v g="$gib" \
                'BEGIN { printf "%.2f", t / hz / g }')
        fi
    done
}

row() {
    printf '%-34s %9s %9s %6s %8s %8s %6s\n' "$@"
}

echo "nbdcopy to null: (disk MiB/s, best of $copy_runs; server CPU s per GiB of disk):"
row workload ours nbdkit ratio "CPU ours" "CPU nbdk" ratio
for args in "pattern ${copy_gib}G" "random ${copy_gib}G seed=1" \
    "sparse-random $((copy_gib * 8))G seed=1"; do
    read -ra argv <<<"$args"
    gib=${argv[1]%G}
    copy_to_null "$ours_nbdkit" "$gib" "${argv[@]}"
    ours_speed=$copy_speed ours_cpu=$copy_cpu
    copy_to_null "$reference_nbdkit" "$gib" "${argv[@]}"
    row "$args" "$ours_speed" "$copy_speed" "$(ratio "$ours_speed" "$copy_speed")" \
        "$ours_cpu" "$copy_cpu" "$(ratio "$ours_cpu" "$copy_cpu")"
    record "nbdcopy $args" "MiB/s" "$ours_speed" "$copy_speed"
    record "nbdcopy $args" "CPU s/GiB" "$ours_cpu" "$copy_cpu"
done
echo

echo "fio random reads, one connection, $seconds s (requests/s; server CPU us per request):"
row workload ours nbdkit ratio "CPU ours" "CPU nbdk" ratio
for args in "pattern 16G" "random 16G seed=1"; do
    read -ra argv <<<"$args"
    NBDKIT=$ours_nbdkit start_server_unix "${argv[@]}"
    ours_pid=$server_pid ours_uri=$server_uri
    NBDKIT=$reference_nbdkit start_server_unix "${argv[@]}"
    reference_pid=$server_pid reference_uri=$server_uri
    for job in "4k 32" "1M 8"; do
        read -r bs depth <<<"$job"
        read -ra ours <<<"$(measure "$ours_pid" run_fio "$ours_uri" "$seconds" \
            --rw=randread --bs="$bs" --iodepth="$depth")"
        read -ra reference <<<"$(measure "$reference_pid" run_fio "$reference_uri" "$seconds" \
            --rw=randread --bs="$bs" --iodepth="$depth")"
        row "$args $bs randread QD$depth" "${ours[0]}" "${reference[0]}" \
            "$(ratio "${ours[0]}" "${reference[0]}")" \
            "${ours[2]}" "${reference[2]}" "$(ratio "${ours[2]}" "${reference[2]}")"
        record "fio $args $bs randread QD$depth" "req/s" "${ours[0]}" "${reference[0]}"
        record "fio $args $bs randread QD$depth" "CPU us/req" "${ours[2]}" "${reference[2]}"
    done
    stop_server "$ours_pid"
    stop_server "$reference_pid"
done
