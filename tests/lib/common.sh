# shellcheck shell=bash disable=SC2034  # server_* are for the caller
# Shared helpers for shell tests.  Source it from a bash script:
#
#   source "$(dirname "$0")/../lib/common.sh"
#
# It sets "set -euo pipefail", creates $TEST_TMPDIR (removed on exit) and
# kills every server started through it, by PID, when the script exits for
# any reason.  $NBDKIT defaults to the build's binary so a test can also be
# run by hand, and NBDKIT=/usr/bin/nbdkit runs it against Debian's nbdkit.

set -euo pipefail

TESTS_DIR=${TESTS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
SRCDIR=${SRCDIR:-$(cd "$TESTS_DIR/.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build}
NBDKIT=${NBDKIT:-$BUILDDIR/nbdkit}

# The longest a server may take to write its pidfile (it writes it once it
# accepts connections).  Sanitizer builds start slower.
SERVER_START_TIMEOUT=${SERVER_START_TIMEOUT:-30}

TEST_TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/nbdkit-test.XXXXXX")
test_server_pids=()
declare -A test_server_status=()
test_cleanup_commands=()

# A server still running at exit is stopped here, and fails the test if it
# exits non-zero on SIGTERM (nbdkit exits 0); under the sanitizers that is
# also how a leak or memory error in it shows up.  The status of a server
# the test stopped or reaped itself is the test's business.
test_cleanup() {
    local status=$?
    local cmd n pid server_status
    for cmd in "${test_cleanup_commands[@]}"; do
        eval "$cmd" || true
    done
    for n in "${!test_server_pids[@]}"; do
        pid=${test_server_pids[$n]}
        server_status=0
        if [[ ! -v test_server_status[$pid] ]]; then
            stop_server "$pid" || server_status=$?
        fi
        if ((server_status != 0)); then
            echo "FAIL: server $n (pid $pid) exited with status $server_status" >&2
            ((status != 0)) || status=1
        fi
        if ((status != 0)) && [[ -s $TEST_TMPDIR/server-$n.log ]]; then
            echo "--- server $n stderr:" >&2
            cat "$TEST_TMPDIR/server-$n.log" >&2
        fi
    done
    rm -rf "$TEST_TMPDIR"
    exit "$status"
}
trap test_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# on_exit COMMAND: run COMMAND (a string, eval'd) when the test exits.
on_exit() {
    test_cleanup_commands+=("$1")
}

# skip MESSAGE: the test cannot run here (exit 77, which ctest reports as
# skipped).
skip() {
    echo "SKIP: $*" >&2
    exit 77
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# require_commands CMD...: skip unless every command is installed.
require_commands() {
    local cmd
    for cmd in "$@"; do
        command -v "$cmd" >/dev/null 2>&1 || skip "$cmd is not installed"
    done
}

# nbdsh runs "python3 -m nbd" from $PATH; the libnbd bindings live in
# Debian's python3, which a python3 earlier in $PATH (pyenv, venv) lacks.
# Exported, so that nbdsh in a --run command line finds it too.
export PATH="/usr/bin:$PATH"

# free_tcp_port: prints a TCP port on 127.0.0.1 that was free a moment ago.
# Another process may take it before the server binds; start_server_tcp
# retries for that reason.
free_tcp_port() {
    /usr/bin/python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# process_alive PID: true while PID runs (a zombie, which kill -0 still
# finds, counts as gone).
process_alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

# wait_for_pidfile PIDFILE PID: waits until the server wrote its pidfile;
# fails if the server exits first or the timeout passes.
wait_for_pidfile() {
    local pidfile=$1 pid=$2 i
    for ((i = 0; i < SERVER_START_TIMEOUT * 10; i++)); do
        [[ -s $pidfile ]] && return 0
        process_alive "$pid" || return 1
        sleep 0.1
    done
    return 1
}

# track_server PID: a server the test started by other means, to be
# stopped and checked at exit like those started below.
track_server() {
    test_server_pids+=("$1")
}

# start_server_unix ARGS...: starts "$NBDKIT -f -P PIDFILE -U SOCKET ARGS..."
# and waits until it accepts connections.  Sets server_pid, server_sock and
# server_uri (nbd+unix:///?socket=...).  The server's stderr goes to
# $TEST_TMPDIR/server-N.log.
start_server_unix() {
    local n=${#test_server_pids[@]}
    local pidfile=$TEST_TMPDIR/server-$n.pid
    server_sock=$TEST_TMPDIR/server-$n.sock
    "$NBDKIT" -f -P "$pidfile" -U "$server_sock" "$@" \
        </dev/null 2>"$TEST_TMPDIR/server-$n.log" &
    server_pid=$!
    test_server_pids+=("$server_pid")
    if ! wait_for_pidfile "$pidfile" "$server_pid"; then
        fail "server did not start: $NBDKIT -U $server_sock $*"
    fi
    server_uri="nbd+unix:///?socket=$server_sock"
}

# start_server_tcp ARGS...: like start_server_unix but listening on
# 127.0.0.1 on a free port.  Sets server_pid, server_port and server_uri
# (nbd://127.0.0.1:PORT/).
start_server_tcp() {
    local attempt n pidfile
    for ((attempt = 0; attempt < 5; attempt++)); do
        n=${#test_server_pids[@]}
        pidfile=$TEST_TMPDIR/server-$n.pid
        server_port=$(free_tcp_port)
        "$NBDKIT" -f -P "$pidfile" -i 127.0.0.1 -p "$server_port" "$@" \
            </dev/null 2>"$TEST_TMPDIR/server-$n.log" &
        server_pid=$!
        test_server_pids+=("$server_pid")
        if wait_for_pidfile "$pidfile" "$server_pid"; then
            server_uri="nbd://127.0.0.1:$server_port/"
            return 0
        fi
        # Lost the race for the port (or a real failure: retried anyway,
        # and reported below).
        stop_server "$server_pid" || true
        unset 'test_server_pids[-1]'
    done
    cat "$TEST_TMPDIR/server-$n.log" >&2
    fail "server did not start: $NBDKIT -i 127.0.0.1 -p $server_port $*"
}

# start_server TRANSPORT ARGS...: TRANSPORT is "unix" or "tcp".
start_server() {
    local transport=$1
    shift
    case $transport in
        unix) start_server_unix "$@" ;;
        tcp) start_server_tcp "$@" ;;
        *) fail "unknown transport $transport" ;;
    esac
}

# stop_server PID: SIGTERM, then SIGKILL if it is still there after 10 s.
# Reaps it, and returns its exit status (137 if it had to be killed).
# Stopping a server twice is harmless.
stop_server() {
    local pid=$1 i status=0
    if [[ -v test_server_status[$pid] ]]; then
        return "${test_server_status[$pid]}"
    fi
    if process_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            process_alive "$pid" || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || status=$?
    test_server_status[$pid]=$status
    return "$status"
}

# expect_nbdinfo URI LINE...: nbdinfo's description of URI contains every
# LINE (a fixed string, e.g. 'can_trim: true').
expect_nbdinfo() {
    local uri=$1 line info
    shift
    info=$(nbdinfo "$uri")
    for line in "$@"; do
        grep -qF -- "$line" <<<"$info" || fail "nbdinfo lacks '$line': $info"
    done
}
