#!/usr/bin/env bash
# noparallel filter: the thread model it sets (--dump-plugin) and, with
# serialize=connections, no multi-conn and one client at a time, as with
# Debian's nbdkit.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdinfo /usr/bin/python3

thread_model() {
    "$1" --filter=noparallel memory 1M "${@:2}" --dump-plugin | grep '^thread_model='
}
for server in $(compared_servers); do
    [[ $(thread_model "$server") == thread_model=serialize_requests ]] ||
        fail "$server: default is not serialize_requests"
    [[ $(thread_model "$server" serialize=all-requests) == thread_model=serialize_all_requests ]] ||
        fail "$server: serialize=all-requests"
    [[ $(thread_model "$server" serialize=connections) == thread_model=serialize_connections ]] ||
        fail "$server: serialize=connections"
done

CAPS_FIELDS=can_multi_conn
for mode in "" serialize=requests serialize=all-requests serialize=connections; do
    # shellcheck disable=SC2086  # an empty mode vanishes
    same_caps "$mode" --filter=noparallel memory 1M $mode
done
start_server_unix --filter=noparallel memory 1M serialize=connections
nbdinfo --json --no-content "$server_uri" | grep -q '"can_multi_conn": false' ||
    fail "serialize=connections advertised multi-conn"
# Requests still work, from one client after another.
expect_ops "serialized" "ok ok" "$server_uri" write:0:512 read:0:512
expect_ops "serialized, second client" "ok" "$server_uri" read:0:512
stop_server "$server_pid"

expect_bad_parameter "serialize" --filter=noparallel memory 1M serialize=foo
