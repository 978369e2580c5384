#!/bin/bash
# nbd plugin benchmark (not a test): our `nbd` proxy against Debian's
# `nbdkit nbd`, side by side in one run, both in front of the same upstream
# (our memory plugin on a Unix socket), clients on a Unix socket:
#
#   fio (nbd engine, one connection): 4k random read and write at queue
#   depth 32, 1 MiB sequential read at queue depth 8; then 4k random read
#   with shared=true.
#
# Prints requests/s, MiB/s and the proxy's CPU per request for both, and the
# ratios ours / nbdkit (the upstream's CPU is the same for both and left
# out).
#
# Usage: bench/nbd.sh
# Environment: NBDKIT (ours, default build/nbdkit), REFERENCE_NBDKIT
# (default /usr/bin/nbdkit), BENCH_SECONDS per fio job (default 10).
source "$(dirname "$0")/lib.sh"
require_commands fio
[[ -x $NBDKIT ]] || fail "$NBDKIT is not built (build it, or set NBDKIT)"


print_setup

NBDKIT=$ours_nbdkit start_server_unix memory 1G
upstream=$server_sock
# Fill the upstream so that reads move data.
NBDKIT=$ours_nbdkit "$ours_nbdkit" -U - nbd socket="$upstream" \
    --run 'fio --name=fill --ioengine=nbd --uri="$uri" --rw=write --bs=1M --iodepth=8 --output=/dev/null'

printf '\n%-22s %9s %9s %6s %8s %8s %6s %9s %9s %6s\n' workload ours nbdkit ratio \
    ours nbdkit ratio "CPU us" "CPU us" ratio
printf '%-22s %9s %9s %6s %8s %8s %6s %9s %9s %6s\n' "" "req/s" "req/s" "" \
    "MiB/s" "MiB/s" "" ours nbdkit ""

# compare LABEL PLUGIN-ARGS... -- FIO-ARGS...: one fio job through each
# proxy (ours first).
compare() {
    local label=$1 args=() ours reference
    shift
    while [[ $1 != -- ]]; do args+=("$1"); shift; done
    shift
    NBDKIT=$ours_nbdkit start_server_unix nbd socket="$upstream" "${args[@]}"
    read -ra ours <<<"$(measure "$server_pid" run_fio "$server_uri" "$seconds" "$@")"
    stop_server "$server_pid"
    NBDKIT=$reference_nbdkit start_server_unix nbd socket="$upstream" "${args[@]}"
    read -ra reference <<<"$(measure "$server_pid" run_fio "$server_uri" "$seconds" "$@")"
    stop_server "$server_pid"
    printf '%-22s %9s %9s %6s %8s %8s %6s %9s %9s %6s\n' "$label" \
        "${ours[0]}" "${reference[0]}" "$(ratio "${ours[0]}" "${reference[0]}")" \
        $((ours[1] >> 20)) $((reference[1] >> 20)) "$(ratio "${ours[1]}" "${reference[1]}")" \
        "${ours[2]}" "${reference[2]}" "$(ratio "${ours[2]}" "${reference[2]}")"
    record "$label" "req/s" "${ours[0]}" "${reference[0]}"
    record "$label" "CPU us/req" "${ours[2]}" "${reference[2]}"
}

compare "4k randread QD32" -- --rw=randread --bs=4k --iodepth=32
compare "4k randwrite QD32" -- --rw=randwrite --bs=4k --iodepth=32
compare "1M read QD8" -- --rw=read --bs=1M --iodepth=8
compare "4k randread shared" shared=true -- --rw=randread --bs=4k --iodepth=32
