#!/usr/bin/env bash
# Bad parameters exit 1 with a clear message, as Debian's nbdkit does; an
# upstream that is missing or goes away fails the client's requests, never
# the server, and never hangs.
source "$(dirname "$0")/../lib/common.sh"
require_commands nbdsh nbdinfo /usr/bin/nbdkit

# expect_error PATTERN ARGS...: both nbdkits refuse the command line.
expect_error() {
  local pattern=$1 status binary
  shift
  for binary in "$NBDKIT" /usr/bin/nbdkit; do
    status=0
    "$binary" -U - "$@" --run 'echo served' >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" || status=$?
    [ "$status" = 1 ] || fail "$binary $*: exit status $status, expected 1"
    grep -q served "$TEST_TMPDIR/out" && fail "$binary $*: served anyway"
  done
  grep -qi -- "$pattern" "$TEST_TMPDIR/err" ||
    fail "nbdkit $*: message lacks '$pattern': $(cat "$TEST_TMPDIR/err")"
  echo "ok: nbdkit $*"
}
# (The pattern is checked on Debian's message, which ours matches in words.)
expect_error 'exactly one of' nbd
expect_error 'cannot mix' nbd socket=/x hostname=y
expect_error 'cannot mix' nbd arg=x socket=/x
expect_error "port" nbd port=5 socket=/x
expect_error 'dynamic-export' nbd socket=/x dynamic-export=true shared=true
expect_error 'dynamic-export' nbd command=true dynamic-export=true
expect_error 'boolean' nbd socket=/x tls=maybe
expect_error 'negative' nbd socket=/x retry=-1
expect_error 'unknown parameter' nbd socket=/x colour=blue

# A missing upstream fails each client, the proxy keeps serving.
start_server_unix nbd socket="$TEST_TMPDIR/missing.sock"
nbdinfo "$server_uri" >/dev/null 2>&1 && fail "served without an upstream"
grep -q 'No such file' "$TEST_TMPDIR"/server-0.log || fail "no reason logged"
process_alive "$server_pid" || fail "proxy died"
echo "ok: missing upstream"

# retry=: the upstream appears a moment after the client connects.
late=$TEST_TMPDIR/late.sock
start_server_unix nbd socket="$late" retry=10
proxy_uri=$server_uri
( sleep 1.5; exec "$NBDKIT" -f -U "$late" -P "$TEST_TMPDIR/late.pid" memory 1M ) &
late_pid=$!
track_server "$late_pid"
nbdinfo --size "$proxy_uri" | grep -qx 1048576 || fail "retry did not wait for the upstream"
echo "ok: retry"

# The upstream dies mid-session: requests fail with an error (bounded),
# the proxy stays up and serves again once the upstream is back.
start_server_unix memory 16M
upstream_pid=$server_pid
upstream_sock=$server_sock
start_server_unix nbd socket="$upstream_sock"
timeout 60 nbdsh -u "$server_uri" -c "
import os, signal, time
h.pwrite(b'a' * 4096, 0)
os.kill($upstream_pid, signal.SIGKILL)
time.sleep(0.5)
try:
    h.pread(4096, 0)
    raise SystemExit('read succeeded with the upstream gone')
except nbd.Error as e:
    print('ok: error after the upstream died:', e)
" || fail "no error (or a hang) when the upstream died"
stop_server "$upstream_pid" || true
process_alive "$server_pid" || fail "proxy died with its upstream"
echo "$0: PASS"
