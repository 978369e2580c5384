#!/usr/bin/env bash
# --dump-plugin, --help and --version for C plugins: the same lines as
# Debian's nbdkit prints for the same .so (has_* lines, struct_size, the
# plugin's own dump_plugin output), and --dump-config's plugindir.
. "$(dirname "$0")/functions.sh"
[[ -x $REFERENCE_NBDKIT ]] || skip "Debian's nbdkit is not installed"

for plugin in "$CABITEST" "$(debian_plugin null)" "$(debian_plugin sh)" "$(debian_plugin memory)"; do
    "$NBDKIT" "$plugin" --dump-plugin >"$TEST_TMPDIR/ours"
    "$REFERENCE_NBDKIT" "$plugin" --dump-plugin >"$TEST_TMPDIR/reference"
    diff "$TEST_TMPDIR/ours" "$TEST_TMPDIR/reference" || fail "--dump-plugin differs for $plugin"
    # The plugin's section of --help (after the server's usage text).
    "$NBDKIT" "$plugin" --help | sed -n '/^plugin: /,$p' >"$TEST_TMPDIR/ours"
    "$REFERENCE_NBDKIT" "$plugin" --help | sed -n '/^plugin: /,$p' >"$TEST_TMPDIR/reference"
    diff "$TEST_TMPDIR/ours" "$TEST_TMPDIR/reference" || fail "--help differs for $plugin"
done
grep -q '^cabitest_dump=yes$' <("$NBDKIT" "$CABITEST" --dump-plugin) || fail "dump_plugin not called"
"$NBDKIT" "$CABITEST" --version | grep -qx 'cabitest 0.1' || fail "--version: no 'cabitest 0.1' line"
"$NBDKIT" --dump-config | grep -q '^plugindir=/' || fail "--dump-config: no plugindir"
echo PASS
