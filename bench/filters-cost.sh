#!/bin/bash
# What pass-through filters and the C plugin ABI cost (not a test): the
# instructions our server executes per request, counted by valgrind's
# callgrind, for the null plugin alone, under a stack of filters that
# change nothing for the request, and Debian's nbdkit-null-plugin.so
# loaded in its place.
# Instruction counts do not depend on what else the machine runs, so a
# difference of a few percent is measurable on a shared machine, where CPU
# time per request moves by more than that between runs.
#
# Each case runs fio (nbd engine, one connection, QD32, 4k) twice, for
# SMALL and LARGE requests, and divides the difference in instructions by
# the difference in requests, which cancels start-up and shutdown.
#
# Usage: bench/filters-cost.sh
# Environment: NBDKIT (ours, default build/nbdkit), SMALL (default 1000),
# LARGE (default 21000).
source "$(dirname "$0")/lib.sh"
require_commands fio valgrind
[[ -x $NBDKIT ]] || fail "$NBDKIT is not built (build it, or set NBDKIT)"
small=${SMALL:-1000}
large=${LARGE:-21000}
# Valgrind slows the server down some fifty times.
export SERVER_START_TIMEOUT=120

ours=$NBDKIT
wrapper=$TEST_TMPDIR/callgrind-nbdkit
cat >"$wrapper" <<EOF
#!/bin/sh
exec valgrind -q --tool=callgrind --callgrind-out-file=$TEST_TMPDIR/callgrind.out "$ours" "\$@"
EOF
chmod +x "$wrapper"

# count_instructions RW REQUESTS ARGS...: sets $counted to the server's
# instruction total for REQUESTS fio requests of kind RW.  (Not run in a
# $(...) subshell, whose exit would clean up the test directory.)
count_instructions() {
    local rw=$1 requests=$2
    shift 2
    NBDKIT=$wrapper start_server_unix "$@"
    fio --name=cost --ioengine=nbd --uri="$server_uri" --rw="$rw" --bs=4k --iodepth=32 \
        --number_ios="$requests" --size=512M --output=/dev/null
    stop_server "$server_pid"
    counted=$(sed -n 's/^summary: //p' "$TEST_TMPDIR/callgrind.out")
}

# per_request RW ARGS...: sets $per_request to the instructions per request.
per_request() {
    local rw=$1 a
    shift
    count_instructions "$rw" "$small" "$@"
    a=$counted
    count_instructions "$rw" "$large" "$@"
    per_request=$(((counted - a) / (large - small)))
}

echo "ours: $ours ($("$ours" --version | head -1))"
echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), kernel $(uname -r)"
echo "callgrind, fio 4k QD32, $small and $large requests"
echo
printf '%-10s %-60s %12s %8s\n' workload stack "instr/req" "vs alone"
stack=(--filter=noextents --filter=nozero --filter=nocache)
for rw in randread randwrite; do
    per_request "$rw" null 1G
    alone=$per_request
    per_request "$rw" "${stack[@]}" null 1G
    stacked=$per_request
    printf '%-10s %-60s %12s %8s\n' "$rw" "null" "$alone" 1.000
    printf '%-10s %-60s %12s %8s\n' "$rw" "${stack[*]} null" "$stacked" "$(awk -v a="$stacked" -v b="$alone" 'BEGIN { printf "%.3f", a / b }')"
done
null_so=/usr/lib/x86_64-linux-gnu/nbdkit/plugins/nbdkit-null-plugin.so
if [[ -f $null_so ]]; then
    per_request randread null 1G
    alone=$per_request
    per_request randread "$null_so" 1G
    printf '%-10s %-60s %12s %8s\n' randread "$null_so" "$per_request" \
        "$(awk -v a="$per_request" -v b="$alone" 'BEGIN { printf "%.3f", a / b }')"
fi
