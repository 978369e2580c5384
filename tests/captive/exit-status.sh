#!/usr/bin/env bash
# The --run exit-status contract (nbdkit-captive(1) and nbdkit's source):
# every row of the table, each checked on nbdkit's own exit status.
source "$(dirname "$0")/../lib/common.sh"

# run_captive EXPECTED_STATUS ARGS...: nbdkit ARGS exits EXPECTED_STATUS.
# Its stderr is left in $TEST_TMPDIR/err.
run_captive() {
    local expected=$1 status=0
    shift
    "$NBDKIT" "$@" </dev/null >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" || status=$?
    ((status == expected)) ||
        fail "nbdkit $*: exit status $status, expected $expected; stderr: $(cat "$TEST_TMPDIR/err")"
}

ran=$TEST_TMPDIR/ran
pidfile=$TEST_TMPDIR/pid

# The server fails to start: exit 1 and the command never runs.
run_captive 1 -U - memory --run "touch $ran"
[[ ! -e $ran ]] || fail "command ran although the plugin failed (missing size)"
run_captive 1 -U - memory size=bogus --run "touch $ran"
[[ ! -e $ran ]] || fail "command ran although the plugin failed (bad size)"
run_captive 1 -U - nosuchplugin --run "touch $ran"
[[ ! -e $ran ]] || fail "command ran although the plugin does not exist"
run_captive 1 -U "$TEST_TMPDIR/no/such/dir/sock" null 1M --run "touch $ran"
[[ ! -e $ran ]] || fail "command ran although binding failed"
# A pidfile that cannot be written fails the server after it forked.  (Ours
# never starts the command then; nbdkit 1.32 may have started it already.)
run_captive 1 -U - -P "$TEST_TMPDIR/no/such/dir/pid" null 1M --run "true"

# The command exits N: nbdkit exits N.
for n in 0 1 3 42 255; do
    run_captive "$n" -U - null 1M --run "exit $n"
done

# The command is killed by a signal S: a message, and 128+S.
run_captive 143 -U - null 1M --run 'kill -TERM $$'
grep -q 'killed by signal 15' "$TEST_TMPDIR/err" || fail "no message for SIGTERM: $(cat "$TEST_TMPDIR/err")"
run_captive 137 -U - null 1M --run 'kill -KILL $$'
grep -q 'killed by signal 9' "$TEST_TMPDIR/err" || fail "no message for SIGKILL"

# The server is killed by signal S: 128+S whatever the command returned.
for n in 0 5; do
    run_captive 137 -U - -P "$pidfile" null 1M --run "kill -9 \$(cat $pidfile); exit $n"
    grep -q 'nbdkit command was killed by signal 9' "$TEST_TMPDIR/err" ||
        fail "no message for the killed server: $(cat "$TEST_TMPDIR/err")"
    rm -f "$pidfile"
done

# The pidfile holds the server's pid, which is not the command's parent.
run_captive 0 -U - -P "$pidfile" null 1M --run "
    server=\$(cat $pidfile)
    [ \"\$server\" != \"\$PPID\" ] && [ \"\$server\" != \$\$ ] && kill -0 \"\$server\""

# The server exits first (exitlast filter after the only client): the
# server's status if the command exits 0, the command's otherwise.
if command -v nbdinfo >/dev/null; then
    run_captive 0 -U - --filter=exitlast null 1M --run 'nbdinfo --size "$uri" >/dev/null; exit 0'
    run_captive 4 -U - --filter=exitlast null 1M --run 'nbdinfo --size "$uri" >/dev/null; exit 4'
fi

# When the command ends, the server is shut down cleanly: the plugin's
# cleanup has run by the time nbdkit exits.
run_captive 0 -v -U - null 1M --run 'true'
grep -q 'cleanup' "$TEST_TMPDIR/err" || fail "plugin cleanup did not run: $(cat "$TEST_TMPDIR/err")"

# The command's stdin and stdout are nbdkit's own.
out=$(echo hello | "$NBDKIT" -U - null 1M --run 'read -r line; echo "got $line"')
[[ $out == "got hello" ]] || fail "command stdin/stdout: $out"

echo PASS
