#!/bin/bash
# Start-to-ready time of captive nbdkit: `nbdkit -U - memory 2G --run true`
# for our binary and Debian's /usr/bin/nbdkit, interleaved in one run so
# that both see the same machine load.  Prints the median and mean wall
# time per start and the ratio.  Goal: ours <= 5 ms.
#
# Usage: bench/startup.sh [RUNS]      (default 200 runs each)
# Environment: NBDKIT (default build/nbdkit), NBDKIT_REFERENCE
# (default /usr/bin/nbdkit).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-200}
ours=${NBDKIT:-build/nbdkit}
reference=${NBDKIT_REFERENCE:-/usr/bin/nbdkit}
command=(-U - memory 2G --run true)

# One start; appends its wall time in microseconds to the array named $1.
# $EPOCHREALTIME (bash 5) reads the clock without forking a `date`.
time_one() {
    local -n times=$1
    shift
    local start=${EPOCHREALTIME/./} end
    "$@" >/dev/null
    end=${EPOCHREALTIME/./}
    times+=($((end - start)))
}

ours_times=() reference_times=()
for ((i = 0; i < runs; i++)); do
    time_one ours_times "$ours" "${command[@]}"
    time_one reference_times "$reference" "${command[@]}"
done

# summary TIMES...: "median mean" in milliseconds.
summary() {
    printf '%s\n' "$@" | sort -n | awk '
        { t[NR] = $1; sum += $1 }
        END { printf "%.2f %.2f", t[int((NR + 1) / 2)] / 1000, sum / NR / 1000 }'
}

read -r ours_median ours_mean <<<"$(summary "${ours_times[@]}")"
read -r ref_median ref_mean <<<"$(summary "${reference_times[@]}")"
printf '%-40s %10s %10s\n' "nbdkit ${command[*]}" "median ms" "mean ms"
printf '%-40s %10s %10s\n' "ours ($ours)" "$ours_median" "$ours_mean"
printf '%-40s %10s %10s\n' "nbdkit ($reference)" "$ref_median" "$ref_mean"
awk -v a="$ours_median" -v b="$ref_median" \
    'BEGIN { printf "ratio ours/nbdkit (median): %.2f   goal: ours <= 5 ms: %s\n", a / b, a <= 5 ? "met" : "not met" }'
