#!/usr/bin/env bash
# The cluster's only OSD stops (SIGSTOP) in the middle of a stream of
# writes and comes back 3 s later: librbd waits for it, so the requests in
# flight complete when it returns, none fails, and every byte written is
# there afterwards (no error, no corruption).
source "$(dirname "$0")/functions.sh"
require_commands nbdsh

image=$(new_image 32M)
osd_pid=$(cat "$CEPH_CLUSTER_DIR/osd.pid")
start_server_unix rbd "$image" conf="$conf"
on_exit "kill -CONT $osd_pid 2>/dev/null || true"
timeout 120 nbdsh -u "$server_uri" -c "
import os, signal, threading, time
blocks = [os.urandom(65536) for _ in range(256)]
def pause_osd():
    time.sleep(0.3)
    os.kill($osd_pid, signal.SIGSTOP)
    time.sleep(3)
    os.kill($osd_pid, signal.SIGCONT)
pauser = threading.Thread(target=pause_osd)
pauser.start()
start = time.time()
for i, block in enumerate(blocks):
    h.pwrite(block, i * 65536)
    time.sleep(0.01)
h.flush()
pauser.join()
print('writes took %.1f s' % (time.time() - start))
for i, block in enumerate(blocks):
    assert h.pread(65536, i * 65536) == block, 'block %d differs' % i
print('ok: all 256 blocks intact')
" || fail "writes across the OSD pause failed"
echo "$0: PASS"
