#!/usr/bin/env bash
# exitwhen after the event: new clients are refused, a connected client
# keeps being served, and the server exits once it disconnects.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
require_commands nbdinfo /usr/bin/python3

stop_file=$TEST_TMPDIR/stop
start_server_unix --filter=exitwhen memory 1M exit-when-file-created="$stop_file" exit-when-poll=1

/usr/bin/python3 - "$server_uri" "$server_pid" "$stop_file" <<'PY'
import os, subprocess, sys, time
import nbd
uri, pid, stop_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
client = nbd.NBD()
client.connect_uri(uri)
client.pwrite(b"x" * 512, 0)
open(stop_file, "w").close()

newcomer = subprocess.run(["nbdinfo", uri], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
assert newcomer.returncode != 0, "a new client was accepted after the event"

# Several poll intervals pass; the connected client must still be served.
for _ in range(3):
    time.sleep(1)
    assert client.pread(512, 0) == b"x" * 512
    os.kill(pid, 0)
client.shutdown()
PY

expect_server_exits_cleanly "$server_pid"
