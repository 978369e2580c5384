#!/bin/bash
# `cmake --install` into a DESTDIR: the server, the man pages and the
# headers land under the prefix, and the installed binary's --dump-config
# names the installed directories.
source "$(dirname "$0")/../lib/common.sh"
require_commands cmake

stage=$TEST_TMPDIR/stage
DESTDIR=$stage cmake --install "$BUILDDIR" >/dev/null
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILDDIR/CMakeCache.txt")
installed=$stage$prefix/sbin/nbdkit
[[ -x $installed ]] || fail "no $installed"
[[ -f $stage$prefix/include/nbdkit/plugin.hpp ]] || fail "headers not installed"
if [[ -d $BUILDDIR/docs/man ]]; then
    for page in nbdkit.1 nbdkit-memory-plugin.1 nbdkit-exitwhen-filter.1; do
        [[ -f $stage$prefix/share/man/man1/$page ]] || fail "$page not installed"
    done
fi

config=$("$installed" --dump-config)
expect_line() {
    grep -qx "$1" <<<"$config" || fail "--dump-config lacks '$1':"$'\n'"$config"
}
expect_line "sbindir=$prefix/sbin"
expect_line "plugindir=$prefix/lib/nbdkit/plugins"
expect_line "filterdir=$prefix/lib/nbdkit/filters"
expect_line "mandir=$prefix/share/man"
# The installed binary serves.
"$installed" -U - memory 1M --run 'nbdinfo --size "$uri"' | grep -qx 1048576 ||
    fail "installed binary does not serve"
echo PASS
