#!/bin/bash
# Builds the libFuzzer targets (clang, -DNBDKIT_FUZZ=ON, in build-fuzz/)
# and runs each one for an equal share of a time budget, starting from its
# seed corpus in tests/fuzz/corpus/NAME/.  Fails, printing the input, if a
# target finds a crash.  See docs/fuzzing.md for longer runs.
#
# Usage: tests/fuzz/run.sh [SECONDS]   (total budget, default 60)
# Environment: FUZZ_BUILD_DIR (default build-fuzz), JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/../.."
budget=${1:-60}
build=${FUZZ_BUILD_DIR:-build-fuzz}

if ! command -v clang++ >/dev/null; then
    echo "fuzz: clang++ is not installed (setup.sh installs it)" >&2
    exit 1
fi
if [[ ! -f $build/build.ninja ]]; then
    launcher=()
    command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DNBDKIT_FUZZ=ON "${launcher[@]}" \
        >/dev/null
fi
ninja -C "$build" -j"${JOBS:-2}" fuzz_targets >/dev/null

targets=()
for target in "$build"/fuzz/*; do
    [[ -f $target && -x $target ]] && targets+=("$target")
done
((${#targets[@]} > 0)) || { echo "fuzz: no targets built in $build/fuzz" >&2; exit 1; }
seconds=$((budget / ${#targets[@]}))
((seconds > 0)) || seconds=1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
for target in "${targets[@]}"; do
    name=$(basename "$target")
    seeds=tests/fuzz/corpus/$name
    corpora=("$work/$name")  # new inputs go here, not into the repository
    mkdir -p "$work/$name"
    [[ -d $seeds ]] && corpora+=("$seeds")
    log=$work/$name.log
    if "$target" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 \
        -print_final_stats=1 -artifact_prefix="$work/$name-" "${corpora[@]}" >"$log" 2>&1; then
        executions=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
        echo "fuzz: $name: ${executions:-?} executions in ${seconds}s, no crash"
    else
        failed=1
        echo "fuzz: $name FAILED; the end of its log:"
        tail -n 40 "$log"
        for artifact in "$work/$name"-*; do
            [[ -f $artifact ]] || continue
            echo "fuzz: input that fails ($artifact), as hex:"
            od -An -tx1 -v "$artifact" | head -n 64
        done
    fi
done
exit "$failed"
