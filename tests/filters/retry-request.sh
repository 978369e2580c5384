#!/usr/bin/env bash
# retry-request filter over the error filter: a failing read is retried
# until the trigger file is removed, and with the trigger left in place
# the client gets the error after exactly the configured retries.  Each
# against Debian's nbdkit too.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
require_commands /usr/bin/python3

check_retrying_filter retry-request retry-request-retries retry-request-delay
expect_bad_parameter "retry-request-retries" --filter=retry-request memory 1M \
    retry-request-retries=x
expect_bad_parameter "retry-request-open" --filter=retry-request memory 1M \
    retry-request-open=maybe
