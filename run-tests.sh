#!/bin/bash
# Quick start, step 2: builds (if needed) and runs the whole test suite
# with ctest, then again in a second build with AddressSanitizer and
# UndefinedBehaviorSanitizer (build-asan/).
#
# Usage: ./run-tests.sh [--no-asan | --asan-only] [CTEST ARGS...]
#   --no-asan     only the normal build (build/)
#   --asan-only   only the sanitizer build (build-asan/)
#   CTEST ARGS    passed to both ctest runs, e.g. -R interop
# Environment: BUILD_DIR (default build), ASAN_BUILD_DIR (default
# build-asan), JOBS (default: number of CPUs), NBDKIT_CMAKE_ARGS (extra
# cmake arguments for build/, e.g. -DCMAKE_BUILD_TYPE=Release).
# Both builds treat warnings as errors (-DNBDKIT_WERROR=ON).
# Exits non-zero if either build or any test fails; both parts run even
# when the first fails.
set -euo pipefail
cd "$(dirname "$0")"

run_normal=yes
run_asan=yes
case ${1:-} in
    --no-asan) run_asan=no; shift ;;
    --asan-only) run_normal=no; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac
jobs=${JOBS:-$(nproc)}

# build_and_test DIR CMAKE-ARGS...: configure once, build, run ctest.
# (Called in a || list, where set -e does not act: hence the returns.)
build_and_test() {
    local dir=$1
    shift
    if [[ ! -f $dir/build.ninja ]]; then
        cmake -S . -B "$dir" -G Ninja -DNBDKIT_WERROR=ON "$@" || return 1
    fi
    ninja -C "$dir" -j "$jobs" || return 1
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" "${ctest_args[@]}" ${asan_ctest_args[@]+"${asan_ctest_args[@]}"}
}

ctest_args=("$@")
failed=()

if [[ $run_normal == yes ]]; then
    echo "=== run-tests.sh: build and test (${BUILD_DIR:-build})"
    # shellcheck disable=SC2086  # NBDKIT_CMAKE_ARGS is a list of words
    build_and_test "${BUILD_DIR:-build}" ${NBDKIT_CMAKE_ARGS:-} || failed+=("tests")
fi

if [[ $run_asan == yes ]]; then
    echo "=== run-tests.sh: build and test with sanitizers (${ASAN_BUILD_DIR:-build-asan})"
    # halt_on_error: the first error fails the test, with its stack.  A
    # server's leaks are reported when it exits, which the tests check.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:print_stacktrace=1:detect_stack_use_after_return=1:strict_init_order=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
    # Sanitized servers start slower (see tests/lib/common.sh).
    export SERVER_START_TIMEOUT=${SERVER_START_TIMEOUT:-60}
    # Tests labelled no-asan (packaging, documentation, long comparisons
    # with Debian's nbdkit whose code under test the sanitizers see in
    # other tests) and ceph (a Ceph cluster on the same 2 CPUs, librbd not
    # instrumented) run in the normal build only, to keep CI's time down.
    asan_ctest_args=(-LE 'no-asan|ceph')
    # Filter tests run each command line against Debian's nbdkit too; the
    # normal run does that comparison, this one needs only ours.
    export NBDKIT_TEST_COMPARE=no
    build_and_test "${ASAN_BUILD_DIR:-build-asan}" -DNBDKIT_SANITIZE=ON || failed+=("sanitizer tests")
fi

if ((${#failed[@]} > 0)); then
    echo "run-tests.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "run-tests.sh: all passed"
