# Helpers shared by the filter tests; source after ../lib/common.sh.

# The longest a server may take to notice it should exit: exitwhen tests
# poll every second, so this is generous even on a loaded machine.
EXIT_TIMEOUT=${EXIT_TIMEOUT:-30}

# wait_for_server_exit PID: waits (bounded) for the server to exit by
# itself and returns its exit status; fails the test if it does not.
wait_for_server_exit() {
    local pid=$1 i
    for ((i = 0; i < EXIT_TIMEOUT * 10; i++)); do
        process_alive "$pid" || break
        sleep 0.1
    done
    process_alive "$pid" && fail "server $pid did not exit by itself within ${EXIT_TIMEOUT}s"
    local status=0
    stop_server "$pid" || status=$?
    return "$status"
}

# expect_server_exits_cleanly PID: the server exits by itself with status 0.
expect_server_exits_cleanly() {
    local status=0
    wait_for_server_exit "$1" || status=$?
    ((status == 0)) || fail "server exited with status $status, expected 0"
}

# expect_running PID WHAT: the server is still there after WHAT.
expect_running() {
    process_alive "$1" || fail "server exited after $2"
}

# A client that connects, reads, and disconnects.
connect_once() {
    nbdinfo "$1" >/dev/null
}
