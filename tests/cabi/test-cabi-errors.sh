#!/usr/bin/env bash
# A plugin that cannot be loaded or refuses its configuration: exit status
# 1 and a message naming the file and the reason.
. "$(dirname "$0")/functions.sh"

expect_load_failure "cannot open plugin '\./no-such-plugin\.so'.*No such file" ./no-such-plugin.so
expect_load_failure "unknown plugin: nosuchname" nosuchname
NBDKIT_PLUGINDIR=$TEST_TMPDIR expect_load_failure "unknown plugin: cabitest" cabitest
expect_load_failure "nbdkit-badapi-plugin\.so.*API version 99" "$CABI_PLUGIN_DIR/nbdkit-badapi-plugin.so"
# A shared object that is no plugin at all.
libz=$(find /usr/lib /lib -name 'libz.so.1' 2>/dev/null | head -n 1)
if [[ -n $libz ]]; then
    expect_load_failure "cannot load plugin '$libz'.*no plugin_init" "$libz"
fi
# A file that is not a shared object.
echo "not ELF" >"$TEST_TMPDIR/junk.so"
expect_load_failure "cannot open plugin '$TEST_TMPDIR/junk\.so'" "$TEST_TMPDIR/junk.so"
# The plugin's own messages for a failing config and an unknown key.
expect_load_failure "cabitest: failing as asked \(fail=1\)" "$CABITEST" fail=1
expect_load_failure "cabitest: unknown parameter 'colour'" "$CABITEST" colour=red
expect_load_failure "size" "$CABITEST" size=lots
echo PASS
