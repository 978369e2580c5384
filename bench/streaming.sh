#!/usr/bin/env bash
# Benchmark (not a test): streams SIZE bytes (default 1 GiB) of random data
# through the streaming plugin with nbdcopy, in both directions, and
# through a plain `cat` into a FIFO in the same run, and prints the results
# as Markdown (to the file $REPORT instead, if set) for docs/benchmarks.md.
#
#   bench/streaming.sh [BUILDDIR]      (default: build)
#   SIZE=256M RUNS=3 bench/streaming.sh build-stream
set -euo pipefail

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-build}
[[ $builddir == /* ]] || builddir=$srcdir/$builddir
nbdkit=${NBDKIT:-$builddir/nbdkit}
size=${SIZE:-1G}
runs=${RUNS:-3}
report=${REPORT:-/dev/stdout}

for cmd in nbdcopy "$nbdkit"; do
    command -v "$cmd" >/dev/null || { echo "$cmd not found" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/streaming-bench.XXXXXX")
background=()
cleanup() {
    local pid
    for pid in "${background[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"

bytes=$(numfmt --from=iec "$size")
# Random data, so that nothing can be skipped as zeroes; read once so that
# every run finds it in the page cache.
head -c "$bytes" /dev/urandom > input
cat input > /dev/null
mkfifo fifo

now() { date +%s.%N; }

# time_pipeline DRAIN FEED: seconds from start until both the FIFO's reader
# (DRAIN) and writer (FEED) have finished.
time_pipeline() {
    local drain=$1 feed=$2 start end pid
    start=$(now)
    sh -c "$drain" &
    pid=$!
    background+=("$pid")
    sh -c "$feed"
    wait "$pid"
    end=$(now)
    echo "$end - $start" | bc -l
}

best() { sort -n | head -1; }
mib_per_s() { echo "scale=0; $bytes / 1048576 / $1" | bc -l; }

declare -A seconds=()
run_case() {
    local name=$1 drain=$2 feed=$3 i t times=()
    for ((i = 0; i < runs; i++)); do
        t=$(time_pipeline "$drain" "$feed")
        times+=("$t")
    done
    seconds[$name]=$(printf '%.3f\n' "${times[@]}" | best)
    printf '%-28s best %6.3f s  %6s MiB/s   (runs: %s)\n' "$name" "${seconds[$name]}" \
        "$(mib_per_s "${seconds[$name]}")" "${times[*]}" >&2
}

run_case "cat > FIFO > cat" 'cat fifo > /dev/null' 'cat input > fifo'
run_case "nbdcopy > write=FIFO > cat" 'cat fifo > /dev/null' \
    "'$nbdkit' -U - streaming write=fifo --run 'nbdcopy input \"\$uri\"'"
run_case "cat > read=FIFO > nbdcopy" 'cat input > fifo' \
    "'$nbdkit' -U - streaming read=fifo size=$bytes --run 'nbdcopy \"\$uri\" null:'"
# Ceilings for context: the NBD hop without any pipe, and nbdcopy alone.
run_case "nbdcopy > null plugin" true \
    "'$nbdkit' -U - null $bytes --run 'nbdcopy input \"\$uri\"'"
run_case "nbdcopy > null:" true 'nbdcopy input null:'

pipe=${seconds["cat > FIFO > cat"]}
write=${seconds["nbdcopy > write=FIFO > cat"]}
read=${seconds["cat > read=FIFO > nbdcopy"]}
nbd_hop=${seconds["nbdcopy > null plugin"]}
client_alone=${seconds["nbdcopy > null:"]}
percent() { echo "scale=0; 100 * $pipe / $1" | bc -l; }

cat > "$report" <<MD
# Streaming plugin benchmark

Produced by \`bench/streaming.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC').

Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),
$(nproc) CPUs, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, Linux $(uname -r);
nbdcopy $(nbdcopy --version | head -1 | awk '{print $2}').

$(numfmt --to=iec-i --suffix=B "$bytes") of random data from the page cache, best of $runs runs,
Unix sockets, the reader of the FIFO discarding what it reads.

| Path | Seconds | MiB/s | % of the plain pipe |
|---|---:|---:|---:|
| \`cat input > FIFO\`, \`cat FIFO > /dev/null\` (baseline) | $pipe | $(mib_per_s "$pipe") | 100 |
| \`nbdcopy input \$uri\` → \`streaming write=FIFO\` → \`cat\` | $write | $(mib_per_s "$write") | $(percent "$write") |
| \`cat\` → \`streaming read=FIFO\` → \`nbdcopy \$uri null:\` | $read | $(mib_per_s "$read") | $(percent "$read") |
| (ceiling) \`nbdcopy input \$uri\` → our \`null\` plugin, no pipe | $nbd_hop | $(mib_per_s "$nbd_hop") | $(percent "$nbd_hop") |
| (ceiling) \`nbdcopy input null:\`, no server | $client_alone | $(mib_per_s "$client_alone") | $(percent "$client_alone") |

Goal: at least 80% of the plain pipe's throughput.  The machine is shared
and small (2 CPUs run the client, the server and the reader at once), so
single runs vary by a factor of two; compare rows of the same run only.
MD
[[ $report == /dev/stdout ]] || echo "results written to $report" >&2
