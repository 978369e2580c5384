#!/bin/bash
# C plugin benchmark (not a test): Debian's plugin .so files served by our
# server and by Debian's nbdkit, side by side in one run, on a Unix
# socket; our built-in null plugin for comparison.
#
#   fio (nbd engine, one connection) 4k random read at queue depth 32:
#   requests per second and server CPU microseconds per request, for
#   Debian's null.so (nothing but the ABI and the server) and memory.so
#   (filled 1 GiB).
#
# Usage: bench/cabi.sh
# Environment: NBDKIT (ours, default build/nbdkit), REFERENCE_NBDKIT
# (default /usr/bin/nbdkit), BENCH_SECONDS per fio job (default 10),
# DEBIAN_PLUGINDIR (default /usr/lib/x86_64-linux-gnu/nbdkit/plugins).
source "$(dirname "$0")/lib.sh"
require_commands fio nbdcopy
[[ -x $NBDKIT ]] || fail "$NBDKIT is not built (build it, or set NBDKIT)"

ours_nbdkit=$NBDKIT
reference_nbdkit=${REFERENCE_NBDKIT:-/usr/bin/nbdkit}
seconds=${BENCH_SECONDS:-10}
plugindir=${DEBIAN_PLUGINDIR:-/usr/lib/x86_64-linux-gnu/nbdkit/plugins}
null_so=$plugindir/nbdkit-null-plugin.so
memory_so=$plugindir/nbdkit-memory-plugin.so
[[ -f $null_so && -f $memory_so ]] || fail "Debian's null and memory plugins are not installed"

echo "ours:   $ours_nbdkit ($("$ours_nbdkit" --version | head -1))"
echo "nbdkit: $reference_nbdkit ($("$reference_nbdkit" --version | head -1))"
echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), kernel $(uname -r)"
echo

fill=$(mktemp /dev/shm/nbdkit-cabi-bench.XXXXXX)
on_exit "rm -f '$fill'"
head -c 1G /dev/urandom >"$fill"

# fio_run NBDKIT ARGS...: serves ARGS with NBDKIT (filled from $fill when
# ARGS serve memory) and sets result to "REQ/S MiB/S CPU_US".  The server
# is started in this shell (not a subshell), which tracks it.
fio_run() {
    local binary=$1
    shift
    NBDKIT=$binary start_server_unix "$@"
    if [[ $* == *memory* ]]; then nbdcopy "$fill" "$server_uri"; fi
    result=$(measure "$server_pid" run_fio "$server_uri" "$seconds" --rw=randread --bs=4k \
        --iodepth=32)
    stop_server "$server_pid"
}

echo "fio 4k random read, queue depth 32, $seconds s (CPU = server CPU us per request):"
printf '%-34s %9s %9s %6s %8s %8s %6s\n' workload "ours" "nbdkit" ratio "CPU us" "CPU us" ratio
printf '%-34s %9s %9s %6s %8s %8s %6s\n' "" "req/s" "req/s" "" ours nbdkit ""
row() {
    local label=$1 ours_args=$2 reference_args=$3 ours reference
    # shellcheck disable=SC2086  # the arguments are meant to split
    fio_run "$ours_nbdkit" $ours_args
    read -ra ours <<<"$result"
    # shellcheck disable=SC2086
    fio_run "$reference_nbdkit" $reference_args
    read -ra reference <<<"$result"
    printf '%-34s %9s %9s %6s %8s %8s %6s\n' "$label" \
        "${ours[0]}" "${reference[0]}" "$(ratio "${ours[0]}" "${reference[0]}")" \
        "${ours[2]}" "${reference[2]}" "$(ratio "${ours[2]}" "${reference[2]}")"
    record "$label" req/s "${ours[0]}" "${reference[0]}"
    record "$label" cpu_us "${ours[2]}" "${reference[2]}"
}
row "null.so 1G" "$null_so 1G" "$null_so 1G"
row "null.so 1G, worker threads" "-D nbdkit.workers=1 $null_so 1G" "$null_so 1G"
row "built-in null (ours) vs null.so" "null 1G" "$null_so 1G"
row "memory.so 1G (filled)" "$memory_so 1G" "$memory_so 1G"
row "built-in memory (ours) vs memory.so" "memory 1G" "$memory_so 1G"
