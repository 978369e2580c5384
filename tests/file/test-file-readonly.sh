#!/usr/bin/env bash
# -r, and a file the server may not write, which is served read-only
# without being asked (as nbdkit does).
. "$(dirname "$0")/functions.sh"
require_commands nbdsh nbdinfo

disk=$TEST_TMPDIR/disk.img
head -c 1M /dev/urandom >"$disk"
cp "$disk" "$TEST_TMPDIR/before"

start_server_unix -r file "$disk"
[ "$(nbd_errno "$server_uri" 'h.pwrite(b"x", 0)')" = EPERM ] || fail "-r: write not refused"
nbdinfo "$server_uri" | grep -q 'is_read_only: true' || fail "-r: not read-only"
nbdinfo "$server_uri" | grep -q 'can_trim: false' || fail "-r: can trim"
stop_server "$server_pid"
cmp "$disk" "$TEST_TMPDIR/before" || fail "-r: the file changed"

# As root permissions do not stop a write: run the server as nobody.
[ "$(id -u)" = 0 ] || skip "not root: cannot run the server as another user"
command -v setpriv >/dev/null || skip "setpriv is not installed"
chmod 1777 "$TEST_TMPDIR"  # nobody writes the socket and pidfile there
chmod 444 "$disk"
NBDKIT_AS_NOBODY=$TEST_TMPDIR/nbdkit-as-nobody
printf '#!/bin/sh\nexec setpriv --reuid=nobody --regid=nogroup --clear-groups "%s" "$@"\n' \
  "$NBDKIT" >"$NBDKIT_AS_NOBODY"
chmod 755 "$NBDKIT_AS_NOBODY"
"$NBDKIT_AS_NOBODY" --version >/dev/null 2>&1 || skip "cannot run the server as nobody here"
NBDKIT=$NBDKIT_AS_NOBODY start_server_unix file "$disk"
nbdinfo "$server_uri" | grep -q 'is_read_only: true' || fail "read-only file served writable"
nbdsh -u "$server_uri" -c "assert h.pread(16, 0) == open('$TEST_TMPDIR/before', 'rb').read(16)"
echo "$0: PASS"
