#!/usr/bin/env bash
# error filter: the man page's examples, per-operation settings, the
# trigger file and bad parameters; each against Debian's nbdkit too.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
require_commands /usr/bin/python3

ours=$NBDKIT
for NBDKIT in $(compared_servers); do
    # Writes and zeroing fail with ENOSPC; reads and trims still work.
    start_server_unix --filter=error memory 1M \
        error=ENOSPC error-pwrite-rate=100% error-zero-rate=100%
    expect_ops "$NBDKIT per-operation" "ok ENOSPC ENOSPC ok" "$server_uri" \
        read:0:512 write:0:512 zero:0:512 trim:0:512
    stop_server "$server_pid"

    # Errors only while the trigger file exists.
    trigger=$TEST_TMPDIR/inject
    rm -f "$trigger"
    start_server_unix --filter=error memory 1M error-rate=100% error-file="$trigger"
    expect_ops "$NBDKIT without trigger" "ok ok" "$server_uri" read:0:512 write:0:512
    touch "$trigger"
    expect_ops "$NBDKIT with trigger" "EIO EIO" "$server_uri" read:0:512 write:0:512
    rm "$trigger"
    expect_ops "$NBDKIT trigger removed" "ok" "$server_uri" read:0:512
    stop_server "$server_pid"

    # The other spellings of a rate; a per-operation error overrides error=.
    start_server_unix --filter=error memory 1M error=EPERM error-pread=EINVAL \
        error-pread-rate=1 error-trim-rate=100% error-pwrite-rate=0.0
    expect_ops "$NBDKIT rates" "EINVAL EPERM ok" "$server_uri" read:0:512 trim:0:512 write:0:512
    stop_server "$server_pid"

    # A low rate: the connection works (whether a request fails is chance).
    start_server_unix --filter=error memory 1M error-rate=1%
    nbd_ops "$server_uri" read:0:512 >/dev/null
    stop_server "$server_pid"
done

NBDKIT=$ours
# Ours only: nbdkit 1.32 does not parse ratios yet (later nbdkit does).
if [[ $NBDKIT != /usr/bin/nbdkit ]]; then
    start_server_unix --filter=error memory 1M error-pread-rate=1:1 error-trim-rate=1/1
    expect_ops "ratios" "EIO EIO" "$server_uri" read:0:512 trim:0:512
    stop_server "$server_pid"
fi
expect_bad_parameter "error-rate" --filter=error memory 1M error-rate=2
expect_bad_parameter "error-rate" --filter=error memory 1M error-rate=foo
expect_bad_parameter "EBADF" --filter=error memory 1M error=EBADF
