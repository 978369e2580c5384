# shellcheck shell=bash disable=SC2034  # the variables are for the tests
# Sourced by the C plugin ABI tests: the shared helpers plus where Debian's
# plugins, Debian's nbdkit and the plugins built here are.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

REFERENCE_NBDKIT=${REFERENCE_NBDKIT:-/usr/bin/nbdkit}
DEBIAN_PLUGINDIR=${DEBIAN_PLUGINDIR:-/usr/lib/x86_64-linux-gnu/nbdkit/plugins}
CABI_PLUGIN_DIR=${CABI_PLUGIN_DIR:-$BUILDDIR/tests/cabi}
CABITEST=$CABI_PLUGIN_DIR/nbdkit-cabitest-plugin.so

# debian_plugin NAME: the path of Debian's nbdkit-NAME-plugin.so; skips the
# test when it is not installed.
debian_plugin() {
    local path=$DEBIAN_PLUGINDIR/nbdkit-$1-plugin.so
    [[ -f $path ]] || skip "Debian's $1 plugin is not installed ($path)"
    echo "$path"
}

# expect_load_failure PATTERN ARGS...: the server must exit 1 at start-up
# with a message matching PATTERN (an extended regular expression).
expect_load_failure() {
    local pattern=$1 status=0
    shift
    "$NBDKIT" -f -U "$TEST_TMPDIR/never.sock" "$@" </dev/null >"$TEST_TMPDIR/out" 2>&1 ||
        status=$?
    ((status == 1)) || { cat "$TEST_TMPDIR/out" >&2; fail "$*: exit status $status, expected 1"; }
    grep -Eq "$pattern" "$TEST_TMPDIR/out" ||
        { cat "$TEST_TMPDIR/out" >&2; fail "$*: no message matching '$pattern'"; }
}
