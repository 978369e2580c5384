# shellcheck shell=bash
# Helpers for benchmark scripts.  Source it from bash:
#
#   source "$(dirname "$0")/lib.sh"
#
# It brings in tests/lib/common.sh (servers started by PID and cleaned up
# on exit, $TEST_TMPDIR) and adds server CPU accounting and fio runs.

source "$(dirname "${BASH_SOURCE[0]}")/../tests/lib/common.sh"

CLOCK_TICKS_PER_SECOND=$(getconf CLK_TCK)

# process_cpu_ticks PID: user + system CPU time of every thread of PID
# (fields 14 and 15 of /proc/PID/stat), in clock ticks.
process_cpu_ticks() {
    local stat fields
    stat=$(<"/proc/$1/stat")
    # Field 2, the command name, may hold spaces: split after its ')'.
    read -ra fields <<<"${stat##*) }"
    echo $((fields[11] + fields[12]))
}

# cpu_us_per_request TICKS REQUESTS: CPU microseconds per request.
cpu_us_per_request() {
    awk -v ticks="$1" -v requests="$2" -v hz="$CLOCK_TICKS_PER_SECOND" \
        'BEGIN { printf "%.2f", requests ? ticks * 1e6 / hz / requests : 0 }'
}

# run_fio URI SECONDS FIO-ARGS...: one time-bounded fio job (nbd engine,
# one connection) against URI.  Prints "REQUESTS SECONDS BYTES" (what it
# did, and how long it took).
run_fio() {
    local uri=$1 seconds=$2
    shift 2
    fio --name=bench --ioengine=nbd --uri="$uri" --time_based \
        --runtime="$seconds" --output-format=json \
        --output="$TEST_TMPDIR/fio.json" "$@" >/dev/null
    /usr/bin/python3 - "$TEST_TMPDIR/fio.json" <<'PY'
import json, sys
[job] = json.load(open(sys.argv[1]))["jobs"]
assert job["error"] == 0, job["error"]
directions = [job[d] for d in ("read", "write", "trim")]
print(sum(d["total_ios"] for d in directions),
      job["job_runtime"] / 1000,
      sum(d["io_bytes"] for d in directions))
PY
}

# measure PID COMMAND...: runs COMMAND, which prints "REQUESTS SECONDS
# BYTES", and prints "REQUESTS_PER_SECOND BYTES_PER_SECOND
# CPU_US_PER_REQUEST" where the CPU time is server PID's over the run.
measure() {
    local pid=$1 ticks_before ticks_after result requests elapsed bytes
    shift
    ticks_before=$(process_cpu_ticks "$pid")
    result=$("$@")
    ticks_after=$(process_cpu_ticks "$pid")
    read -r requests elapsed bytes <<<"$result"
    awk -v r="$requests" -v s="$elapsed" -v b="$bytes" \
        'BEGIN { printf "%.0f %.0f ", r / s, b / s }'
    cpu_us_per_request $((ticks_after - ticks_before)) "$requests"
    echo
}

# seconds_of COMMAND...: wall time of COMMAND.
seconds_of() {
    local start end
    start=$(date +%s.%N)
    "$@"
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }'
}

# ratio A B: A / B with two decimals ("-" when B is 0).
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'
}

# record WORKLOAD METRIC OURS REFERENCE: appends one side-by-side result to
# $BENCH_RESULTS (default bench/results/SCRIPT.tsv, one file per bench
# script, rewritten by each run), which bench/plot.sh turns into a PNG.
BENCH_RESULTS=${BENCH_RESULTS:-$SRCDIR/bench/results/$(basename "$0" .sh).tsv}
bench_results_started=no
record() {
    if [[ $bench_results_started == no ]]; then
        mkdir -p "$(dirname "$BENCH_RESULTS")"
        printf '# %s, %s, %s\nworkload\tmetric\tours\tnbdkit\n' "$(date -u +%F)" \
            "$(lscpu | sed -n 's/^Model name: *//p')" "$(nproc) CPUs" >"$BENCH_RESULTS"
        bench_results_started=yes
    fi
    printf '%s\t%s\t%s\t%s\n' "$@" >>"$BENCH_RESULTS"
}

# Our binary, the reference nbdkit and the seconds per fio job, as every
# side-by-side script takes them from the environment.
ours_nbdkit=$NBDKIT
reference_nbdkit=${REFERENCE_NBDKIT:-/usr/bin/nbdkit}
seconds=${BENCH_SECONDS:-10}

# print_setup: which servers and which machine a run compares on.
print_setup() {
    echo "ours:   $ours_nbdkit ($("$ours_nbdkit" --version | head -1))"
    echo "nbdkit: $reference_nbdkit ($("$reference_nbdkit" --version | head -1))"
    echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), kernel $(uname -r)"
}

# fio_table_header TITLE: the heading of a side-by-side fio table (rows
# from fio_table_row).
fio_table_header() {
    echo
    echo "$1:"
    printf '%-22s %9s %9s %6s %8s %8s %6s %9s %9s %6s\n' workload ours nbdkit ratio \
        ours nbdkit ratio "CPU us" "CPU us" ratio
    printf '%-22s %9s %9s %6s %8s %8s %6s %9s %9s %6s\n' "" "req/s" "req/s" "" \
        "MiB/s" "MiB/s" "" ours nbdkit ""
}

# fio_table_row LABEL "OURS" "REFERENCE": one row; OURS and REFERENCE are
# what measure printed ("REQ/S BYTES/S CPU-US-PER-REQUEST").
fio_table_row() {
    local ours reference
    read -ra ours <<<"$2"
    read -ra reference <<<"$3"
    printf '%-22s %9s %9s %6s %8s %8s %6s %9s %9s %6s\n' "$1" \
        "${ours[0]}" "${reference[0]}" "$(ratio "${ours[0]}" "${reference[0]}")" \
        $((ours[1] >> 20)) $((reference[1] >> 20)) "$(ratio "${ours[1]}" "${reference[1]}")" \
        "${ours[2]}" "${reference[2]}" "$(ratio "${ours[2]}" "${reference[2]}")"
}

# print_comparison LABEL OURS REFERENCE: fio_table_row, and the same
# figures recorded (record) for bench/plot.sh.
print_comparison() {
    fio_table_row "$@"
    local ours reference
    read -ra ours <<<"$2"
    read -ra reference <<<"$3"
    record "$1" "req/s" "${ours[0]}" "${reference[0]}"
    record "$1" "CPU us/req" "${ours[2]}" "${reference[2]}"
}
