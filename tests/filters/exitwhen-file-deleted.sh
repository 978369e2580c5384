#!/usr/bin/env bash
# exitwhen exit-when-file-deleted: serves while the file exists.  The
# file is given as a relative path, which must be resolved against the
# directory nbdkit was started in.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
require_commands nbdinfo

cd "$TEST_TMPDIR"
touch keep
start_server_unix --filter=exitwhen memory 1M exit-when-file-deleted=keep exit-when-poll=1
connect_once "$server_uri"
expect_running "$server_pid" "a client while the file exists"
rm keep
expect_server_exits_cleanly "$server_pid"
