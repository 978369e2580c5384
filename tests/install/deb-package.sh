#!/bin/bash
# `cpack -G DEB` makes a package that installs the server and its man pages
# under the configured prefix and declares that it replaces Debian's nbdkit.
source "$(dirname "$0")/../lib/common.sh"
require_commands cpack dpkg-deb dpkg-shlibdeps

(cd "$TEST_TMPDIR" && cpack -G DEB --config "$BUILDDIR/CPackConfig.cmake" -B "$TEST_TMPDIR/deb") \
    >"$TEST_TMPDIR/cpack.log" 2>&1 || fail "cpack failed: $(cat "$TEST_TMPDIR/cpack.log")"
deb=$(echo "$TEST_TMPDIR"/deb/nbdkit-cxx_*.deb)
[[ -f $deb ]] || fail "no package in $TEST_TMPDIR/deb"

prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILDDIR/CMakeCache.txt")
files=$(dpkg-deb -c "$deb" | awk '{print $6}')
grep -qx ".$prefix/sbin/nbdkit" <<<"$files" || fail "no sbin/nbdkit in: $files"
if [[ -d $BUILDDIR/docs/man ]]; then
    grep -qx ".$prefix/share/man/man1/nbdkit.1" <<<"$files" || fail "no nbdkit.1 in: $files"
fi
[[ $(dpkg-deb -f "$deb" Conflicts) == nbdkit ]] || fail "package does not conflict with nbdkit"
[[ $(dpkg-deb -f "$deb" Package) == nbdkit-cxx ]] || fail "wrong package name"
echo PASS
