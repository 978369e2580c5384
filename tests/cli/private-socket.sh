#!/usr/bin/env bash
# `-U -` listens on a private socket in a fresh directory under $TMPDIR,
# which is removed, with the socket, when the server exits.
source "$(dirname "$0")/../lib/common.sh"
require_commands nbdinfo

export TMPDIR=$TEST_TMPDIR
mkfifo "$TEST_TMPDIR/uri"
"$NBDKIT" -f -U - --print-uri null 1M </dev/null >"$TEST_TMPDIR/uri" 2>"$TEST_TMPDIR/log" &
pid=$!
test_server_pids+=("$pid")
# Blocks until the server prints its URI (or exits, closing the fifo).
read -r uri <"$TEST_TMPDIR/uri" || fail "no URI printed: $(cat "$TEST_TMPDIR/log")"
[[ $uri =~ ^nbd\+unix://\?socket=$TEST_TMPDIR/nbdkit......+/socket$ ]] || fail "URI: $uri"
sock=${uri#*socket=}
[[ -S $sock ]] || fail "$sock is not a socket"
[[ $(nbdinfo --size "$uri") == 1048576 ]] || fail "nbdinfo via the printed URI"

stop_server "$pid" || fail "SIGTERM: exit status $?"
[[ ! -e $sock ]] || fail "$sock left behind"
[[ ! -e ${sock%/socket} ]] || fail "${sock%/socket} left behind"

echo PASS
