#!/usr/bin/env bash
# -s: one client on stdin/stdout, no listening socket; libnbd's
# connect_command runs the server exactly so.
source "$(dirname "$0")/../lib/common.sh"
require_commands nbdsh

nbdsh -c '
import os, sys
h.connect_command([os.environ["NBDKIT"], "-s", "memory", "64K"])
h.pwrite(b"hello", 100)
assert h.pread(5, 100) == b"hello"
assert h.get_size() == 65536
h.shutdown()
' || fail "read/write over -s"

# --print-uri has nothing to print with -s (stdout is the NBD channel).
nbdsh -c '
import os
h.connect_command([os.environ["NBDKIT"], "-s", "--print-uri", "null", "2M"])
assert h.get_size() == 2097152
' || fail "--print-uri with -s"

# The server exits when its one client disconnects.
exec {to_server}> >(exec "$NBDKIT" -s null 1M >/dev/null 2>&1)
server=$!
exec {to_server}>&-
for ((i = 0; i < 100; i++)); do
    process_alive "$server" || break
    sleep 0.1
done
process_alive "$server" && fail "-s server still running after its client went away"

echo PASS
