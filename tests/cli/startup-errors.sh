#!/usr/bin/env bash
# Bad command lines and failing plugins: a clear message and exit 1, with
# nothing left behind (no pidfile, no server).
source "$(dirname "$0")/../lib/common.sh"

# expect_failure DESCRIPTION PATTERN ARGS...: nbdkit ARGS exits 1 and says
# something matching PATTERN on stderr.
expect_failure() {
    local description=$1 pattern=$2 status=0
    shift 2
    "$NBDKIT" "$@" </dev/null >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" || status=$?
    ((status == 1)) || fail "$description: exit status $status, expected 1 (nbdkit $*)"
    grep -qiE -- "$pattern" "$TEST_TMPDIR/err" ||
        fail "$description: stderr lacks /$pattern/: $(cat "$TEST_TMPDIR/err")"
    [[ ! -e $TEST_TMPDIR/pid ]] || fail "$description: pidfile written"
}

sock=$TEST_TMPDIR/sock
pid=$TEST_TMPDIR/pid
expect_failure "unknown plugin" 'nosuchplugin' -f -U "$sock" -P "$pid" nosuchplugin
expect_failure "unknown filter" 'nosuchfilter' -f -U "$sock" -P "$pid" --filter=nosuchfilter null
expect_failure "bad size" 'size|parse' -f -U "$sock" -P "$pid" memory size=12X
expect_failure "missing size" 'size' -f -U "$sock" -P "$pid" memory
expect_failure "unknown parameter" 'foo' -f -U "$sock" -P "$pid" null 1M foo=bar
expect_failure "no plugin" 'plugin' -f -U "$sock"
expect_failure "-p with -U" 'combination|cannot' -p 1 -U "$sock" null
expect_failure "-s with --run" 'combination|cannot' -s null --run true
expect_failure "-U with -s" 'combination|cannot' -s -U "$sock" null
expect_failure "unknown option" 'unrecognized|unknown|invalid' --no-such-option null
[[ ! -e $sock ]] || fail "a socket was left behind"

# A Unix socket path that is taken.
touch "$TEST_TMPDIR/taken"
expect_failure "socket path in use" 'in use|exists' -f -U "$TEST_TMPDIR/taken" -P "$pid" null
long=$TEST_TMPDIR/$(printf 'x%.0s' {1..120})
expect_failure "socket path too long" 'too long' -f -U "$long" -P "$pid" null

# Closed stdio is refused.
status=0
"$NBDKIT" --version >&- 2>/dev/null || status=$?
((status == 1)) || fail "closed stdout: exit status $status"

echo PASS
