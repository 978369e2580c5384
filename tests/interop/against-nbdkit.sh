#!/bin/bash
# Runs every interop test against Debian's nbdkit, the yardstick: a test
# that fails there checks something other than nbdkit compatibility.
set -uo pipefail
reference=${REFERENCE_NBDKIT:-/usr/bin/nbdkit}
[[ -x $reference ]] || { echo "SKIP: $reference is not installed" >&2; exit 77; }

interop_dir=$(cd "$(dirname "$0")" && pwd)
failed=()
for script in "$interop_dir"/*.sh; do
    [[ $script -ef $0 ]] && continue
    test=$(basename "$script" .sh)
    status=0
    NBDKIT=$reference "$script" >/dev/null || status=$?
    case $status in
        0) echo "$test: pass" ;;
        77) echo "$test: skipped" ;;
        *) echo "$test: FAIL (status $status)"; failed+=("$test") ;;
    esac
done
((${#failed[@]} == 0)) || { echo "FAIL against $reference: ${failed[*]}" >&2; exit 1; }
echo PASS
