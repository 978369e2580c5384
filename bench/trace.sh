#!/bin/bash
# The cost of -v tracing (not a test): our server and Debian's nbdkit, each
# without and with -v, side by side in one run, serving the memory plugin
# on a Unix socket to fio (nbd engine, one connection, 4k random reads and
# writes at queue depth 32).  With -v every request writes one line per
# layer; the trace goes to a file, as `2>log` would.
#
# Without -v our request path is the one of a build without tracing (a
# layer is wrapped for tracing only when a connection opens it with -v on);
# with BASELINE_NBDKIT set (say, a build of the main branch before tracing)
# that is measured too: ours without -v against the baseline.
#
# Prints requests per second and the server's CPU time per request for
# each, the -v / no -v ratios, and ours / nbdkit.
#
# Usage: bench/trace.sh
# Environment: NBDKIT (ours, default build/nbdkit), REFERENCE_NBDKIT
# (default /usr/bin/nbdkit), BASELINE_NBDKIT (optional), BENCH_SECONDS per
# fio job (default 10).
source "$(dirname "$0")/lib.sh"
require_commands fio
[[ -x $NBDKIT ]] || fail "$NBDKIT is not built (build it, or set NBDKIT)"

ours_nbdkit=$NBDKIT
reference_nbdkit=${REFERENCE_NBDKIT:-/usr/bin/nbdkit}
baseline_nbdkit=${BASELINE_NBDKIT:-}
seconds=${BENCH_SECONDS:-10}

# run SERVER WORKLOAD-ARGS [-v]: starts SERVER, runs fio, stops it; sets
# rate (req/s), cpu_us (server CPU per request) and trace_bytes.  Not in a
# subshell: start_server_unix numbers its servers in this shell.
run() {
    local server=$1 fio_args=$2 verbose=${3:-} result log
    read -ra fio_args <<<"$fio_args"
    # shellcheck disable=SC2086  # $verbose is empty or -v
    NBDKIT=$server start_server_unix $verbose memory 1G
    log=$TEST_TMPDIR/server-$((${#test_server_pids[@]} - 1)).log
    result=$(measure "$server_pid" run_fio "$server_uri" "$seconds" "${fio_args[@]}")
    stop_server "$server_pid" || true
    read -r rate _ cpu_us <<<"$result"
    trace_bytes=$(stat -c %s "$log")
}

echo "ours:   $ours_nbdkit ($("$ours_nbdkit" --version | head -1))"
echo "nbdkit: $reference_nbdkit ($("$reference_nbdkit" --version | head -1))"
[[ -n $baseline_nbdkit ]] && echo "baseline: $baseline_nbdkit"
echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), kernel $(uname -r)"
echo "fio: nbd engine, 1 connection, $seconds s per job; servers: memory 1G, Unix socket"
echo
printf '%-20s %-8s %-4s %9s %9s %11s\n' workload server -v req/s "CPU us" "trace KiB"

workloads=(
    "4k randread QD32|--rw=randread --bs=4k --iodepth=32"
    "4k randwrite QD32|--rw=randwrite --bs=4k --iodepth=32"
)
for workload in "${workloads[@]}"; do
    name=${workload%%|*}
    args=${workload#*|}
    declare -A req=() cpu=()
    servers=(ours nbdkit)
    [[ -n $baseline_nbdkit ]] && servers+=(baseline)
    for server in "${servers[@]}"; do
        case $server in
            ours) binary=$ours_nbdkit ;;
            nbdkit) binary=$reference_nbdkit ;;
            baseline) binary=$baseline_nbdkit ;;
        esac
        modes=("" -v)
        [[ $server == baseline ]] && modes=("")
        for mode in "${modes[@]}"; do
            run "$binary" "$args" "$mode"
            req[$server$mode]=$rate
            cpu[$server$mode]=$cpu_us
            printf '%-20s %-8s %-4s %9s %9s %11s\n' "$name" "$server" "${mode:-no}" "$rate" \
                "$cpu_us" "$((trace_bytes >> 10))"
        done
    done
    echo "  -v / no -v: ours $(ratio "${req[ours-v]}" "${req[ours]}")x req/s," \
        "$(ratio "${cpu[ours-v]}" "${cpu[ours]}")x CPU; nbdkit $(ratio "${req[nbdkit-v]}" "${req[nbdkit]}")x req/s," \
        "$(ratio "${cpu[nbdkit-v]}" "${cpu[nbdkit]}")x CPU"
    record "$name" "req/s" "${req[ours]}" "${req[nbdkit]}"
    record "$name" "server CPU us/req" "${cpu[ours]}" "${cpu[nbdkit]}"
    record "$name -v" "req/s" "${req[ours-v]}" "${req[nbdkit-v]}"
    record "$name -v" "server CPU us/req" "${cpu[ours-v]}" "${cpu[nbdkit-v]}"
    if [[ -n $baseline_nbdkit ]]; then
        echo "  without -v, ours / baseline: $(ratio "${req[ours]}" "${req[baseline]}")x req/s," \
            "$(ratio "${cpu[ours]}" "${cpu[baseline]}")x CPU"
    fi
    unset req cpu
done
