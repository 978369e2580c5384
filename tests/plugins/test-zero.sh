#!/usr/bin/env bash
# nbdkit zero: an empty, read-only disk that takes no parameters.
source "$(dirname "$0")/functions.sh"
require_commands nbdinfo nbdsh

same_info zero
start_server_unix zero
nbdsh -u "$server_uri" -c '
assert h.get_size() == 0
assert h.is_read_only()
assert h.can_multi_conn()
for f in (lambda: h.pread(1, 0), lambda: h.pwrite(b"x", 0)):
    try:
        f()
        raise AssertionError("out of range succeeded")
    except nbd.Error:
        pass
' || fail "zero disk"
refused "does not need command line configuration" zero size=1
refused "does not need command line configuration" zero 1M
dump_has zero name=zero thread_model=parallel
echo "$0: PASS"
