# shellcheck shell=bash
# Sourced by the data plugin's script tests.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

REFERENCE_NBDKIT=${REFERENCE_NBDKIT:-/usr/bin/nbdkit}

# serve_bytes NBDKIT OUT ARGS...: serves `data ARGS...` on a private socket
# and copies the whole disk to OUT; the server's stderr goes to OUT.err.
# Returns the server's exit status.
serve_bytes() {
  local nbdkit=$1 out=$2
  shift 2
  "$nbdkit" -U - data "$@" --run "nbdcopy \"\$uri\" $(printf %q "$out")" 2>"$out.err"
}

# read_cases FILE: the cases of FILE (one command line per line, a quoted
# string may run over lines, '#' lines are comments) into the array
# `cases`, each a string of shell words.
read_cases() {
  cases=()
  local line pending=""
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ -z $pending && ( $line == '#'* || -z $line ) ]]; then
      continue
    fi
    pending+=${pending:+$'\n'}$line
    # A case is complete once its quotes balance.
    if eval "words=($pending)" 2>/dev/null; then
      cases+=("$pending")
      pending=""
    fi
  done <"$1"
}
