#!/usr/bin/env bash
# TCP: -i/-p, --print-uri, and a port in use is a start-up error.
source "$(dirname "$0")/../lib/common.sh"
require_commands nbdinfo

start_server_tcp null 1M
[[ $(nbdinfo --size "$server_uri") == 1048576 ]] || fail "nbdinfo over TCP"

# The port is taken now.
status=0
"$NBDKIT" -f -i 127.0.0.1 -p "$server_port" null 1M </dev/null 2>"$TEST_TMPDIR/err" || status=$?
((status == 1)) || fail "port in use: exit status $status"
grep -qi 'in use' "$TEST_TMPDIR/err" || fail "port in use: $(cat "$TEST_TMPDIR/err")"
# ... and a --run command is then never started.
status=0
"$NBDKIT" -i 127.0.0.1 -p "$server_port" null 1M --run "touch $TEST_TMPDIR/ran" </dev/null 2>/dev/null ||
    status=$?
((status == 1)) || fail "port in use with --run: exit status $status"
[[ ! -e $TEST_TMPDIR/ran ]] || fail "--run command ran although the server failed"
stop_server "$server_pid"

# --print-uri prints nbd://ADDR:PORT (the -i address; nbdkit 1.32 says
# localhost) once the server is listening.
for attempt in 1 2 3 4 5; do
    port=$(free_tcp_port)
    exec {uri_fd}< <(exec "$NBDKIT" -f -i 127.0.0.1 -p "$port" -P "$TEST_TMPDIR/uri.pid" \
        --print-uri -e foo null 1M </dev/null 2>"$TEST_TMPDIR/uri.log")
    uri=
    read -r -u "$uri_fd" uri || true
    exec {uri_fd}<&-
    [[ -n $uri ]] && break
done
[[ -n $uri ]] || fail "no URI printed: $(cat "$TEST_TMPDIR/uri.log")"
pid=$(<"$TEST_TMPDIR/uri.pid")
on_exit "kill $pid 2>/dev/null"
[[ $uri == "nbd://127.0.0.1:$port/foo" ]] || fail "--print-uri: $uri"
[[ $(nbdinfo --size "nbd://127.0.0.1:$port/foo") == 1048576 ]] || fail "nbdinfo via the URI"
kill "$pid"

echo PASS
