#!/usr/bin/env bash
# nozero filter: for each zeromode and fastzeromode, the same export flags
# as Debian's nbdkit, and the same answers to zero and fast zero requests.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdinfo /usr/bin/python3

CAPS_FIELDS="can_zero|can_fast_zero"
ops="fill:0:8192:aa zero:0:4096 md5:0:8192 zero:4096:4096:fast zero:0:8192:nohole:fua md5:0:8192"
for zeromode in "" zeromode=emulate zeromode=notrim zeromode=plugin; do
    for fast in "" fastzeromode=none fastzeromode=ignore; do
        # shellcheck disable=SC2086  # empty modes vanish
        same_caps "$zeromode $fast" --filter=nozero memory 1M $zeromode $fast
    done
    # shellcheck disable=SC2086
    same_ops "$zeromode" "$ops" --filter=nozero memory 1M $zeromode
done
# Emulated zeroing really zeroes, and refuses fast zeroes even with ignore.
same_ops "emulate, ignore" "$ops" --filter=nozero memory 1M zeromode=emulate \
    fastzeromode=ignore
zeroed=$(/usr/bin/python3 -c 'import hashlib; print(hashlib.md5(bytes(8192)).hexdigest())')
half=$(/usr/bin/python3 -c 'import hashlib; print(hashlib.md5(bytes(4096) + b"\xaa" * 4096).hexdigest())')
[[ $answers == "ok ok $half ENOTSUP ok $zeroed " ]] || fail "emulate, ignore: $answers"

# The default hides NBD_CMD_WRITE_ZEROES; emulate offers it.
start_server_unix --filter=nozero memory 1M
nbdinfo --json --no-content "$server_uri" | grep -q '"can_zero": false' ||
    fail "zeromode=none advertised zeroing"
stop_server "$server_pid"

expect_bad_parameter "unknown zeromode 'foo'" --filter=nozero memory 1M zeromode=foo
expect_bad_parameter "unknown fastzeromode 'bar'" --filter=nozero memory 1M fastzeromode=bar
