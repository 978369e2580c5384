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

# One start, its wall time in microseconds.
time_one() {
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null
    end=$(date +%s%N)
    echo $(((end - start) / 1000))
}

ours_times=() reference_times=()
for ((i = 0; i < runs; i++)); do
    ours_times+=("$(time_one "$ours" "${command[@]}")")
    reference_times+=("$(time_one "$reference" "${command[@]}")")
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
