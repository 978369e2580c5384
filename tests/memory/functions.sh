# shellcheck shell=bash
# Sourced by the memory and null plugin script tests: the shared test
# helpers (servers by PID, $TEST_TMPDIR, fail, skip) plus what only these
# tests need.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

# rss_kib PID: resident memory of a process, in KiB.
rss_kib() {
  awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}
