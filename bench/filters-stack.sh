#!/bin/bash
# Filter stack benchmark (not a test): our server against Debian's nbdkit,
# side by side in one run, on a Unix socket, fio (nbd engine, one
# connection) 4k random reads and writes at queue depth 32:
#
#   memory 1G with --filter=nozero --filter=fua --filter=nocache;
#   null 1G with --filter=noextents --filter=nozero --filter=nocache
#   (issue 11 asks this to cost within 5% of null alone in CPU per
#   request: null alone is measured too);
#   memory 1G under --filter=blocksize minblock=4k maxdata=64k.
#
# Prints req/s and server CPU microseconds per request for both servers,
# with ours / nbdkit ratios, and records them (bench/results).
#
# Usage: bench/filters-stack.sh
# Environment: NBDKIT (ours, default build/nbdkit), REFERENCE_NBDKIT
# (default /usr/bin/nbdkit), BENCH_SECONDS per fio job (default 10).
source "$(dirname "$0")/lib.sh"
require_commands fio
[[ -x $NBDKIT ]] || fail "$NBDKIT is not built (build it, or set NBDKIT)"

ours_nbdkit=$NBDKIT
reference_nbdkit=${REFERENCE_NBDKIT:-/usr/bin/nbdkit}
seconds=${BENCH_SECONDS:-10}

echo "ours:   $ours_nbdkit ($("$ours_nbdkit" --version | head -1))"
echo "nbdkit: $reference_nbdkit ($("$reference_nbdkit" --version | head -1))"
echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), kernel $(uname -r)"
echo "fio 4k, queue depth 32, one connection, $seconds s per job"
echo
printf '%-34s %9s %9s %6s %8s %8s %6s\n' stack/workload "ours" "nbdkit" ratio "CPU us" "CPU us" ratio
printf '%-34s %9s %9s %6s %8s %8s %6s\n' "" "req/s" "req/s" "" ours nbdkit ""

# stack NAME ARGS...: both servers with ARGS, fio randread and randwrite.
stack() {
    local name=$1 rw ours reference
    shift
    NBDKIT=$ours_nbdkit start_server_unix "$@"
    local ours_pid=$server_pid ours_uri=$server_uri
    NBDKIT=$reference_nbdkit start_server_unix "$@"
    local reference_pid=$server_pid reference_uri=$server_uri
    for rw in randread randwrite; do
        read -ra ours <<<"$(measure "$ours_pid" run_fio "$ours_uri" "$seconds" \
            --rw=$rw --bs=4k --iodepth=32)"
        read -ra reference <<<"$(measure "$reference_pid" run_fio "$reference_uri" "$seconds" \
            --rw=$rw --bs=4k --iodepth=32)"
        printf '%-34s %9s %9s %6s %8s %8s %6s\n' "$name $rw" \
            "${ours[0]}" "${reference[0]}" "$(ratio "${ours[0]}" "${reference[0]}")" \
            "${ours[2]}" "${reference[2]}" "$(ratio "${ours[2]}" "${reference[2]}")"
        record "$name $rw" "req/s" "${ours[0]}" "${reference[0]}"
        record "$name $rw" "CPU us/req" "${ours[2]}" "${reference[2]}"
    done
    stop_server "$ours_pid"
    stop_server "$reference_pid"
}

stack "memory+nozero+fua+nocache" --filter=nozero --filter=fua --filter=nocache memory 1G
stack "null alone" null 1G
stack "null+noextents+nozero+nocache" --filter=noextents --filter=nozero --filter=nocache null 1G
stack "memory+blocksize minblock=4k" --filter=blocksize memory 1G minblock=4k maxdata=64k
