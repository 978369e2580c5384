#!/usr/bin/env bash
# A plugin author's build: the installed headers found through the
# installed nbdkit.pc, `gcc -shared -fPIC plugin.c $(pkg-config --cflags
# nbdkit)`, and the result loaded by the installed server.
. "$(dirname "$0")/functions.sh"
require_commands cmake pkg-config gcc nbdinfo

stage=$TEST_TMPDIR/stage
DESTDIR=$stage cmake --install "$BUILDDIR" >/dev/null
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILDDIR/CMakeCache.txt")
pc_dir=$(dirname "$(find "$stage" -name nbdkit.pc | head -n 1)")
[[ -f $pc_dir/nbdkit.pc ]] || fail "nbdkit.pc not installed"
export PKG_CONFIG_PATH=$pc_dir PKG_CONFIG_SYSROOT_DIR=$stage
for header in nbdkit-plugin.h nbdkit-common.h nbdkit-version.h; do
    [[ -f $stage$prefix/include/$header ]] || fail "$header not installed"
done
[[ $(pkg-config --variable=plugindir nbdkit) = "$stage$prefix/lib/nbdkit/plugins" ||
   $(pkg-config --variable=plugindir nbdkit) = "$prefix/lib/nbdkit/plugins" ]] ||
    fail "plugindir: $(pkg-config --variable=plugindir nbdkit)"

# shellcheck disable=SC2046  # the flags are meant to split
gcc -Wall -Werror -shared -fPIC "$TESTS_DIR/cabi/cabitest-plugin.c" \
    $(pkg-config --cflags nbdkit) -o "$TEST_TMPDIR/nbdkit-cabitest-plugin.so"
size=$("$stage$prefix/sbin/nbdkit" -U - "$TEST_TMPDIR/nbdkit-cabitest-plugin.so" 256k \
    --run 'nbdinfo --size "$uri"')
[[ $size = 262144 ]] || fail "the plugin built through pkg-config serves size $size"
echo PASS
