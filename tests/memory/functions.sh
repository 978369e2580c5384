# shellcheck shell=bash
# Sourced by the memory and null plugin script tests: the shared test
# helpers (servers by PID, $TEST_TMPDIR, fail, skip) plus what only these
# tests need.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

# rss_kib PID: resident memory of a process, in KiB.
rss_kib() {
  awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# settled_rss_kib PID LIMIT: the process's RSS once it is below LIMIT KiB,
# or after 5 s, whichever comes first.  A client can see its last reply
# before the server has released that request's buffers and closed the
# connection, so memory given back "at once" may take a moment to show.
settled_rss_kib() {
  local rss tries
  for ((tries = 0; tries < 50; tries++)); do
    rss=$(rss_kib "$1")
    ((rss < $2)) && break
    sleep 0.1
  done
  echo "$rss"
}
