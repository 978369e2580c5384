#!/usr/bin/env bash
# Every construct of the data format, served by ours and by Debian's
# nbdkit: the disks must be byte for byte the same, and the command lines
# of error-cases.txt must make both exit 1 before serving.
source "$(dirname "$0")/functions.sh"
require_commands nbdcopy
[[ -x $REFERENCE_NBDKIT ]] || skip "$REFERENCE_NBDKIT is not installed"

cases_dir=$(cd "$(dirname "$0")" && pwd)
work=$TEST_TMPDIR
printf abc >"$work/f3"
head -c 512 /dev/zero | tr '\0' 'x' >"$work/f512"
head -c 70000 /dev/zero >"$work/zeros"
: >"$work/empty"
# Relative file names in the cases are found here.
cd "$work"

read_cases "$cases_dir/cases.txt"
((${#cases[@]} >= 50)) || fail "only ${#cases[@]} cases read"
n=0
for case in "${cases[@]}"; do
  eval "words=($case)"
  n=$((n + 1))
  # Both at once: the test is mostly waiting for servers to start.
  serve_bytes "$REFERENCE_NBDKIT" theirs.bin "${words[@]}" &
  reference_pid=$!
  ours_status=0 theirs_status=0
  serve_bytes "$NBDKIT" ours.bin "${words[@]}" || ours_status=$?
  wait "$reference_pid" || theirs_status=$?
  ((ours_status == 0)) || fail "case $n [$case]: ours failed: $(cat ours.bin.err)"
  ((theirs_status == 0)) || fail "case $n [$case]: nbdkit failed: $(cat theirs.bin.err)"
  cmp -s ours.bin theirs.bin ||
    fail "case $n [$case]: the disks differ: ours $(stat -c %s ours.bin) bytes, nbdkit $(stat -c %s theirs.bin)"
done
echo "$n data strings served the same"

read_cases "$cases_dir/error-cases.txt"
m=0
for case in "${cases[@]}"; do
  eval "words=($case)"
  m=$((m + 1))
  status=0
  "$NBDKIT" -U - data "${words[@]}" --run 'echo served' >out 2>err || status=$?
  ((status == 1)) || fail "error case $m [$case]: ours exited $status, not 1"
  grep -q served out && fail "error case $m [$case]: ours served"
  [[ -s err ]] || fail "error case $m [$case]: ours gave no message"
done
# nbdkit must refuse them too (else the case is wrong); these fail fast.
m=0
for case in "${cases[@]}"; do
  eval "words=($case)"
  m=$((m + 1))
  if "$REFERENCE_NBDKIT" -U - data "${words[@]}" --run true >/dev/null 2>&1; then
    fail "error case $m [$case]: nbdkit accepts it (the case is wrong)"
  fi
done
echo "$m bad data strings refused by both"
echo "$0: PASS"
