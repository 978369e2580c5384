#!/usr/bin/env bash
# limit filter: with limit=N connected clients the next one is refused,
# and admitted again once one leaves; limit=0 is unlimited.  With our
# server and Debian's.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
require_commands nbdinfo /usr/bin/python3

# hold_clients URI N: N clients connect and stay until stdin closes.
hold_clients() {
    /usr/bin/python3 -c '
import sys, nbd
handles = []
for _ in range(int(sys.argv[2])):
    h = nbd.NBD()
    h.connect_uri(sys.argv[1])
    handles.append(h)
print("connected", flush=True)
sys.stdin.read()
for h in handles:
    h.shutdown()
' "$1" "$2"
}

ours=$NBDKIT
for NBDKIT in $(compared_servers); do
    for limit in 1 2; do
        args=(limit=$limit)
        [[ $limit == 1 ]] && args=()   # 1 is the default
        start_server_unix --filter=limit memory 1M "${args[@]}"
        coproc HOLDER { hold_clients "$server_uri" "$limit"; }
        read -r line <&"${HOLDER[0]}"
        [[ $line == connected ]] || fail "$NBDKIT: holding $limit clients failed"
        expect_client "$NBDKIT limit=$limit, client $((limit + 1))" denied "$server_uri"
        exec {HOLDER[1]}>&-
        wait "$HOLDER_PID" || fail "$NBDKIT: holding clients failed"
        expect_client "$NBDKIT limit=$limit, after they left" allowed "$server_uri"
        stop_server "$server_pid"
    done

    start_server_unix --filter=limit memory 1M limit=0
    coproc HOLDER { hold_clients "$server_uri" 3; }
    read -r line <&"${HOLDER[0]}"
    expect_client "$NBDKIT limit=0" allowed "$server_uri"
    exec {HOLDER[1]}>&-
    wait "$HOLDER_PID" || true
    stop_server "$server_pid"
done

NBDKIT=$ours
expect_bad_parameter "limit" --filter=limit memory 1M limit=-1
expect_bad_parameter "limit" --filter=limit memory 1M limit=many
