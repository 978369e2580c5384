#!/bin/bash
# Quick start, step 1: installs the Debian packages the project needs
# (build dependencies and the real NBD peers the tests talk to), builds
# into build/ and serves a 1 GiB RAM disk to nbdinfo.
#
# Usage: ./setup.sh      (as root, or with sudo available)
# Environment: BUILD_DIR (default build), JOBS (default: number of CPUs),
# NBDKIT_CMAKE_ARGS (extra cmake arguments).  Warnings are errors here (a
# development build); a plain `cmake` build leaves them warnings.
set -euo pipefail
cd "$(dirname "$0")"

packages=(
    # Build.
    cmake ninja-build g++ pkg-config
    # Man pages (pandoc builds them, man checks them), the .deb (dpkg-dev).
    pandoc man-db dpkg-dev
    # Benchmark plots (bench/plot.sh).
    gnuplot-nox
    libgnutls28-dev libzstd-dev liburing-dev libgtest-dev googletest
    # Test peers: nbdinfo/nbdcopy, nbdsh and the Python bindings, qemu-img
    # and qemu-io, fio's nbd engine, certtool/psktool for TLS, Debian's
    # nbdkit as the yardstick.
    libnbd-bin python3-libnbd qemu-utils fio gnutls-bin nbdkit
    # C plugin tests (tests/cabi): nbdkit's plugin header for the struct
    # layout check, Debian's python plugin.
    nbdkit-plugin-dev nbdkit-plugin-python
    # Disk image tools some tests use.
    mtools dosfstools fdisk
    # The file plugin's tests: losetup (loop devices), mount (a small tmpfs).
    mount
    # The nbd plugin (libnbd) and the rbd plugin (librbd); a one-node Ceph
    # cluster for the rbd tests, and qemu's rbd driver for its benchmark.
    libnbd-dev librbd-dev ceph-mon ceph-osd ceph-common qemu-block-extra
    # The libFuzzer targets (tests/fuzz/run.sh): clang and its runtime.
    clang libclang-rt-14-dev
    # The guest test tier (tests/guest/run-guest.sh, which also installs
    # them itself): a TCG guest, its busybox, zstd for its initramfs.
    qemu-system-x86 busybox-static zstd
)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' ||
        missing+=("$package")
done
if ((${#missing[@]} > 0)); then
    echo "setup.sh: installing ${missing[*]}"
    sudo=()
    ((EUID == 0)) || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi

build_dir=${BUILD_DIR:-build}
if [[ ! -f $build_dir/build.ninja ]]; then
    # shellcheck disable=SC2086  # NBDKIT_CMAKE_ARGS is a list of words
    cmake -S . -B "$build_dir" -G Ninja -DNBDKIT_WERROR=ON ${NBDKIT_CMAKE_ARGS:-}
fi
ninja -C "$build_dir" -j "${JOBS:-$(nproc)}"

echo "setup.sh: built $build_dir/nbdkit; serving a 1G RAM disk to nbdinfo:"
"$build_dir/nbdkit" memory 1G --run 'nbdinfo "$uri"'
