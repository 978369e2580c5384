#!/usr/bin/env bash
# exitlast: the server exits once the last client disconnects, and not
# before the first client, nor while another client is still connected.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
require_commands nbdinfo /usr/bin/python3

start_server_unix --filter=exitlast memory 1M
# Nothing in the test waits for time to pass: the server has simply had
# no client yet, so it must still be running.
expect_running "$server_pid" "starting with no client"

# A second client connects and leaves while the first stays connected.
/usr/bin/python3 - "$server_uri" "$server_pid" <<'PY'
import os, subprocess, sys
import nbd
uri, pid = sys.argv[1], int(sys.argv[2])
first = nbd.NBD()
first.connect_uri(uri)
subprocess.run(["nbdinfo", uri], check=True, stdout=subprocess.DEVNULL)
# The second client has fully disconnected once nbdinfo exits; a request
# on the first connection proves the server is still serving.
assert first.pread(512, 0) == bytes(512)
os.kill(pid, 0)
first.shutdown()
PY

expect_server_exits_cleanly "$server_pid"
