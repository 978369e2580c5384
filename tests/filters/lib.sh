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

# The servers a test compares: ours, and Debian's nbdkit when installed
# (unless the test is already run against it with NBDKIT=/usr/bin/nbdkit).
compared_servers() {
    echo "$NBDKIT"
    # The sanitizer run (run-tests.sh) checks our code only: it sets
    # NBDKIT_TEST_COMPARE=no, the normal run compares.
    if [[ ${NBDKIT_TEST_COMPARE:-yes} != no && -x /usr/bin/nbdkit && $NBDKIT != /usr/bin/nbdkit ]]; then
        echo /usr/bin/nbdkit
    fi
}

# nbd_ops URI OP...: one line per OP, "ok" or the errno name (nbd_ops.py).
nbd_ops() {
    /usr/bin/python3 "$TESTS_DIR/filters/nbd_ops.py" "$@"
}

# expect_ops WHAT EXPECTED URI OP...: the replies to OPs, joined by spaces.
expect_ops() {
    local what=$1 expected=$2 got
    shift 2
    got=$(nbd_ops "$@" | tr '\n' ' ')
    got=${got% }
    [[ $got == "$expected" ]] || fail "$what: got '$got', expected '$expected'"
}

# expect_bad_parameter MESSAGE ARGS...: "$NBDKIT ARGS..." exits 1 at once
# and prints MESSAGE (a substring) on stderr.
expect_bad_parameter() {
    local message=$1 status=0
    shift
    "$NBDKIT" -f -U "$TEST_TMPDIR/never.sock" "$@" </dev/null 2>"$TEST_TMPDIR/bad.err" || status=$?
    ((status == 1)) || fail "$* exited with $status, expected 1"
    grep -qF -- "$message" "$TEST_TMPDIR/bad.err" ||
        fail "$*: no '$message' in: $(cat "$TEST_TMPDIR/bad.err")"
}

# wait_for_log_line FILE TEXT: waits (bounded) until FILE contains TEXT.
wait_for_log_line() {
    local file=$1 text=$2 i
    for ((i = 0; i < EXIT_TIMEOUT * 10; i++)); do
        grep -qF -- "$text" "$file" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "no '$text' in $file after ${EXIT_TIMEOUT}s"
}

# count_lines FILE TEXT: how many lines of FILE contain TEXT.
count_lines() {
    grep -cF -- "$2" "$1" || true
}

# expect_recovery WHAT URI LOG TRIGGER: a read fails while TRIGGER exists
# (error filter below a retrying filter); once the first failure shows in
# the server's LOG the trigger is removed, and the read must then succeed.
expect_recovery() {
    local what=$1 uri=$2 log=$3 trigger=$4 result
    nbd_ops "$uri" read:0:512 >"$TEST_TMPDIR/recovery.out" &
    local client=$!
    wait_for_log_line "$log" "injecting EIO error into pread"
    rm -f "$trigger"
    wait "$client" || fail "$what: client failed"
    result=$(cat "$TEST_TMPDIR/recovery.out")
    [[ $result == ok ]] || fail "$what: the read gave '$result' after recovery"
}

# check_retrying_filter FILTER RETRIES_KEY DELAY_KEY [EXTRA_ARGS...]:
# FILTER over the error filter, with every server of compared_servers.
# With the error always on, the client gets EIO after exactly 1 + 2
# attempts (RETRIES_KEY=2); with a trigger file removed after the first
# failure, the read succeeds.
check_retrying_filter() {
    local filter=$1 retries_key=$2 delay_key=$3 ours=$NBDKIT n injected trigger
    shift 3
    for NBDKIT in $(compared_servers); do
        n=${#test_server_pids[@]}
        start_server_unix --filter="$filter" --filter=error memory 1M \
            "$retries_key"=2 "$delay_key"=1 "$@" error-pread-rate=100%
        expect_ops "$NBDKIT retries exhausted" "EIO ok" "$server_uri" read:0:512 write:0:512
        stop_server "$server_pid"
        injected=$(count_lines "$TEST_TMPDIR/server-$n.log" "injecting EIO error into pread")
        ((injected == 3)) || fail "$NBDKIT: $injected failed reads, expected 1 + 2 retries"

        n=${#test_server_pids[@]}
        trigger=$TEST_TMPDIR/inject
        touch "$trigger"
        start_server_unix --filter="$filter" --filter=error memory 1M \
            "$retries_key"=5 "$delay_key"=1 "$@" error-pread-rate=100% error-file="$trigger"
        expect_recovery "$NBDKIT" "$server_uri" "$TEST_TMPDIR/server-$n.log" "$trigger"
        stop_server "$server_pid"
    done
    NBDKIT=$ours
}

# expect_client WHAT allowed|denied URI: whether a client gets an export.
expect_client() {
    local what=$1 expected=$2 uri=$3 got=allowed
    nbdinfo "$uri" >/dev/null 2>&1 || got=denied
    [[ $got == "$expected" ]] || fail "$what: client $got, expected $expected"
}
