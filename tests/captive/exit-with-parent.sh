#!/usr/bin/env bash
# --exit-with-parent: the server goes when the process that started it
# goes, whatever the reason.
source "$(dirname "$0")/../lib/common.sh"
require_commands nbdinfo

"$NBDKIT" --exit-with-parent --version >/dev/null || fail "--exit-with-parent --version"

pidfile=$TEST_TMPDIR/pid
sock=$TEST_TMPDIR/sock
# The parent: a shell that starts the server in the background, then waits
# to be killed.
sh -c '"$1" --exit-with-parent -P "$2" -U "$3" null 1M </dev/null 2>/dev/null &
       exec sleep 60' sh "$NBDKIT" "$pidfile" "$sock" &
parent=$!
on_exit "kill -KILL $parent 2>/dev/null; wait $parent 2>/dev/null"
for ((i = 0; i < SERVER_START_TIMEOUT * 10; i++)); do
    [[ -s $pidfile ]] && break
    sleep 0.1
done
[[ -s $pidfile ]] || fail "server did not start"
server=$(<"$pidfile")
on_exit "kill -KILL $server 2>/dev/null"
[[ $(nbdinfo --size "nbd+unix:///?socket=$sock") == 1048576 ]] || fail "server not serving"

kill -KILL "$parent"
wait "$parent" 2>/dev/null || true
for ((i = 0; i < 100; i++)); do
    process_alive "$server" || break
    sleep 0.1
done
process_alive "$server" && fail "server $server still running after its parent died"

# --exit-with-parent implies -f: the server is the process started.
"$NBDKIT" --exit-with-parent -P "$pidfile.2" -U "$sock.2" null 1M </dev/null 2>/dev/null &
pid=$!
test_server_pids+=("$pid")
wait_for_pidfile "$pidfile.2" "$pid" || fail "server did not start (2)"
[[ $(<"$pidfile.2") == "$pid" ]] || fail "--exit-with-parent did not imply -f"

echo PASS
