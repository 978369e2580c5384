#!/usr/bin/env bash
# The plugin built here from cabitest-plugin.c against our headers, loaded
# by path: exports and export names, reads, writes, errors from
# nbdkit_set_error and from errno, extents, -D flags, nbdkit_shutdown.
# Debian's nbdkit loads the same .so and must behave the same.
. "$(dirname "$0")/functions.sh"
require_commands nbdsh nbdinfo
[[ -f $CABITEST ]] || fail "the test plugin was not built: $CABITEST"

checks='
import errno
def errname(call):
    try:
        call()
        return "no error"
    except nbd.Error as e:
        return errno.errorcode.get(e.errno, e.errno)
size = h.get_size()
assert size == 1 << 20, size
h.pwrite(b"hello", 100)
assert h.pread(5, 100) == b"hello"
assert errname(lambda: h.pread(4096, size - 4096)) == "EPERM"
assert errname(lambda: h.trim(4096, 0)) == "ENOSPC"
assert h.can_multi_conn()
print("ok")
'

for server in "$NBDKIT" "$REFERENCE_NBDKIT"; do
    [[ -x $server ]] || continue
    NBDKIT=$server start_server_unix "$CABITEST" 1M
    [[ $(nbdsh -u "$server_uri" -c "$checks") = ok ]] || fail "$server: data checks"
    nbdinfo --list "$server_uri" | grep -E 'export=|description' >"$TEST_TMPDIR/list.$(basename "$server")"
    nbdinfo --map "$server_uri" >"$TEST_TMPDIR/map.$(basename "$server")"
    # Export b is read-only and reads as 'b'.
    nbdsh -u "${server_uri/\/\?/\/b?}" -c 'assert h.is_read_only(); assert h.pread(3, 0) == b"bbb"'
    stop_server "$server_pid"
done
if [[ -x $REFERENCE_NBDKIT ]]; then
    diff "$TEST_TMPDIR/list.nbdkit" "$TEST_TMPDIR/list.$(basename "$REFERENCE_NBDKIT")" ||
        fail "export lists differ"
    diff "$TEST_TMPDIR/map.nbdkit" "$TEST_TMPDIR/map.$(basename "$REFERENCE_NBDKIT")" ||
        fail "extent maps differ"
fi
grep -q 'hole,zero' "$TEST_TMPDIR/map.nbdkit" || fail "extents: no hole reported"

# An export the plugin refuses in open.
start_server_unix "$CABITEST"
if nbdsh -u "${server_uri/\/\?/\/nosuch?}" -c 'pass' 2>"$TEST_TMPDIR/err"; then
    fail "export nosuch was accepted"
fi
stop_server "$server_pid"
grep -q "no export called 'nosuch'" "$TEST_TMPDIR/server-$((${#test_server_pids[@]} - 1)).log" ||
    fail "the plugin's open error was not logged"

# -D sets the plugin's debug variable; interned config strings survive.
"$NBDKIT" -v -D cabitest.verbose=7 -U - "$CABITEST" greeting=hi --run true \
    2>"$TEST_TMPDIR/debug.log"
grep -q 'verbose debug flag is 7' "$TEST_TMPDIR/debug.log" || fail "-D cabitest.verbose=7 not set"
grep -q 'greeting hi' "$TEST_TMPDIR/debug.log" || fail "interned config string lost"

# nbdkit_shutdown from a write: the server exits 0 by itself.
start_server_unix "$CABITEST"
nbdsh -u "$server_uri" -c 'h.pwrite(b"SHUTDOWN", 0)'
for ((i = 0; i < 100; i++)); do
    process_alive "$server_pid" || break
    sleep 0.1
done
process_alive "$server_pid" && fail "nbdkit_shutdown did not stop the server"
stop_server "$server_pid" || fail "the server exited with status $? after nbdkit_shutdown"

# By short name from NBDKIT_PLUGINDIR.
NBDKIT_PLUGINDIR=$CABI_PLUGIN_DIR "$NBDKIT" -U - cabitest 64k --run 'nbdinfo --size "$uri"' \
    >"$TEST_TMPDIR/size"
[[ $(cat "$TEST_TMPDIR/size") = 65536 ]] || fail "cabitest by name: size $(cat "$TEST_TMPDIR/size")"
# An API version 1 plugin: no flags, FUA emulated by .flush.
for server in "$NBDKIT" "$REFERENCE_NBDKIT"; do
    [[ -x $server ]] || continue
    NBDKIT=$server start_server_unix "$CABI_PLUGIN_DIR/nbdkit-v1test-plugin.so"
    nbdsh -u "$server_uri" -c '
assert h.can_fua() and h.can_flush() and h.can_zero()
h.pwrite(b"v1" * 100, 0)
h.zero(100, 0)
assert h.pread(200, 0) == bytes(100) + b"v1" * 50
before = h.pread(1, 65535)[0]
h.pwrite(b"x", 10, nbd.CMD_FLAG_FUA)
assert h.pread(1, 65535)[0] == before + 1, "FUA did not flush"
' || fail "$server: API version 1 plugin"
    stop_server "$server_pid"
done
echo PASS
