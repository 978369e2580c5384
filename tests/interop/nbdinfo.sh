#!/bin/bash
# nbdinfo against the memory and null plugins over a Unix socket and TCP:
# export size, handshake, every flag, and the allocation map of memory
# before and after a write.
source "$(dirname "$0")/../lib/common.sh"
require_commands nbdinfo nbdsh

# check_info URI SIZE: the flags nbdkit 1.32.5 advertises for memory and null.
check_info() {
    local uri=$1 size=$2
    nbdinfo --json "$uri" >"$TEST_TMPDIR/info.json"
    /usr/bin/python3 - "$TEST_TMPDIR/info.json" "$size" <<'PY'
import json, sys
info = json.load(open(sys.argv[1]))
expected_size = int(sys.argv[2])
assert info["protocol"] == "newstyle-fixed", info["protocol"]
assert info["TLS"] is False
assert info["structured"] is True
[export] = info["exports"]
assert export["export-name"] == "", export
assert export["export-size"] == expected_size, export
assert "base:allocation" in export["contexts"], export
assert export["is_rotational"] is False, export
assert export["is_read_only"] is False, export
for flag in ("can_cache", "can_df", "can_fast_zero", "can_flush", "can_fua",
             "can_multi_conn", "can_trim", "can_zero"):
    assert export[flag] is True, (flag, export)
PY
    [[ $(nbdinfo --size "$uri") == "$size" ]] || fail "nbdinfo --size $uri"
}

# expect_map URI EXPECTED: nbdinfo --map output, columns normalized.
expect_map() {
    local uri=$1 expected=$2 actual
    actual=$(nbdinfo --map "$uri" | awk '{ print $1, $2, $3, $4 }')
    [[ $actual == "$expected" ]] ||
        fail "nbdinfo --map $uri: expected '$expected', got '$actual'"
}

for transport in unix tcp; do
    start_server "$transport" memory 1G
    check_info "$server_uri" 1073741824
    expect_map "$server_uri" "0 1073741824 3 hole,zero"
    nbdsh -u "$server_uri" -c 'h.pwrite(b"\x5a" * 1048576, 1048576)'
    expect_map "$server_uri" "0 1048576 3 hole,zero
1048576 1048576 0 data
2097152 1071644672 3 hole,zero"
    stop_server "$server_pid"

    start_server "$transport" null 1G
    check_info "$server_uri" 1073741824
    stop_server "$server_pid"
done

# The captive form, with a size suffix and a private Unix socket.
"$NBDKIT" -U - memory 2G --run 'nbdinfo --size "$uri"' >"$TEST_TMPDIR/captive.out"
[[ $(cat "$TEST_TMPDIR/captive.out") == 2147483648 ]] ||
    fail "captive nbdinfo printed: $(cat "$TEST_TMPDIR/captive.out")"

echo "PASS"
