#!/usr/bin/env bash
# -u/-g: after binding, the server switches group, then user.  Needs root.
source "$(dirname "$0")/../lib/common.sh"
require_commands nbdinfo
(( $(id -u) == 0 )) || skip "needs root to change user"
getent passwd nobody >/dev/null || skip "no user nobody"

uid=$(id -u nobody)
gid=$(getent group nogroup | cut -d: -f3) || skip "no group nogroup"
# The pidfile is written after the switch, so nobody must be able to.
chmod 0777 "$TEST_TMPDIR"

"$NBDKIT" -f -u nobody -g nogroup -P "$TEST_TMPDIR/pid" -U "$TEST_TMPDIR/sock" null 1M \
    </dev/null 2>"$TEST_TMPDIR/log" &
pid=$!
test_server_pids+=("$pid")
wait_for_pidfile "$TEST_TMPDIR/pid" "$pid" || fail "server did not start: $(cat "$TEST_TMPDIR/log")"
read -r _ real_uid _ < <(grep '^Uid:' "/proc/$pid/status")
read -r _ real_gid _ < <(grep '^Gid:' "/proc/$pid/status")
[[ $real_uid == "$uid" ]] || fail "uid $real_uid, expected $uid"
[[ $real_gid == "$gid" ]] || fail "gid $real_gid, expected $gid"
grep -q "^Groups:\s*$gid\s*$" "/proc/$pid/status" || fail "supplementary groups: $(grep ^Groups: "/proc/$pid/status")"
[[ $(nbdinfo --size "nbd+unix:///?socket=$TEST_TMPDIR/sock") == 1048576 ]] || fail "nbdinfo"
stop_server "$pid" || fail "exit status $?"

# An unknown user is a start-up error.
status=0
"$NBDKIT" -f -u no-such-user-here -U "$TEST_TMPDIR/sock2" null 1M </dev/null 2>"$TEST_TMPDIR/log" ||
    status=$?
((status == 1)) || fail "unknown user: exit status $status"
grep -q 'no-such-user-here' "$TEST_TMPDIR/log" || fail "unknown user: $(cat "$TEST_TMPDIR/log")"

echo PASS
