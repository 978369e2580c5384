#!/usr/bin/env bash
# retry filter over the error filter: a read that fails while a trigger
# file exists succeeds once it is removed (the plugin being reopened in
# between), and with the trigger left in place the client gets the error
# after exactly `retries` retries.  Each against Debian's nbdkit too.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
require_commands /usr/bin/python3

check_retrying_filter retry retries retry-delay retry-exponential=no
# Ours only: after a failure with retry-readonly=yes the plugin is
# reopened read-only, so the retried write is refused (EROFS, which NBD
# carries as EPERM).
if [[ $NBDKIT != /usr/bin/nbdkit ]]; then
    start_server_unix --filter=retry --filter=error memory 1M \
        retries=1 retry-delay=10ms retry-readonly=yes error-pwrite-rate=100%
    expect_ops "retry-readonly" "EPERM ok" "$server_uri" write:0:512 read:0:512
    stop_server "$server_pid"
fi
expect_bad_parameter "retries" --filter=retry memory 1M retries=-1
expect_bad_parameter "retry-exponential" --filter=retry memory 1M retry-exponential=maybe
