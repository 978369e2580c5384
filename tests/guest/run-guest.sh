#!/bin/bash
# The guest test tier (ctest -L guest): boots a disposable Debian kernel
# under TCG (qemu-system-x86_64 -accel tcg, q35 with an intel-iommu) with
# an emulated NVMe drive and a virtio-blk-pci device, and runs
# guest-init.sh inside it: our server's blkio drivers (io_uring on
# /dev/nvme0n1, nvme-io_uring on /dev/ng0n1, virtio-blk-vfio-pci on the
# virtio-blk function bound to vfio-pci) checked by guest-check, and a 4k
# random read QD32 benchmark against Debian's nbdkit file plugin.
#
# It installs qemu-system-x86 and busybox-static when missing and fetches
# the kernel package (apt-get download), unpacked once into
# $GUEST_CACHE (default $BUILDDIR/guest-cache).  Skips (77) only when
# those cannot be had.  Environment: GUEST_TIMEOUT (seconds the guest may
# run, default 240), GUEST_CHECK_TIMEOUT (seconds one driver's checks may
# take in the guest, default 60), GUEST_BENCH_SECONDS (per server, 0 = no
# benchmark, default 3), GUEST_BENCH_ROUNDS (runs of each server, in turn,
# default 1), GUEST_VERBOSE=1 (servers run with -v; a failed check prints
# their log), GUEST_KEEP=DIR (keep the console log and images there).
source "$(dirname "$0")/../lib/common.sh"

GUEST_CACHE=${GUEST_CACHE:-$BUILDDIR/guest-cache}
GUEST_TIMEOUT=${GUEST_TIMEOUT:-240}
GUEST_CHECK_TIMEOUT=${GUEST_CHECK_TIMEOUT:-60}
GUEST_BENCH_SECONDS=${GUEST_BENCH_SECONDS:-3}
GUEST_BENCH_ROUNDS=${GUEST_BENCH_ROUNDS:-1}
GUEST_CHECK=${GUEST_CHECK:-$BUILDDIR/tests/guest/guest-check}
IMAGE_SIZE=64M

# Kernel modules the guest loads, in load order.  depends= of each is
# added in front automatically; the crypto implementations are soft
# dependencies (looked up by algorithm name), so they are listed.
GUEST_MODULES=(crct10dif_common crct10dif_generic crc-t10dif crc64 crc64_rocksoft_generic
    crc64-rocksoft t10-pi nvme-core nvme
    irqbypass vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci)

log() { echo "guest: $*" >&2; }

# ensure_packages: qemu-system-x86_64 and a static busybox, installed with
# apt-get when missing (as root); skips when that is not possible.
ensure_packages() {
    local missing=()
    command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
    dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' ||
        missing+=(busybox-static)
    ((${#missing[@]} == 0)) && return
    if ((EUID != 0)) || ! command -v apt-get >/dev/null; then
        skip "cannot install ${missing[*]}"
    fi
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" </dev/null >&2 ||
        { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q "${missing[@]}" </dev/null >&2; } ||
        skip "cannot install ${missing[*]}"
}

# kernel_package: the linux-image-6.1.0-NN-amd64 that linux-image-amd64
# depends on now (the version apt offers), refreshing the lists once if
# apt knows none.
kernel_package() {
    local name
    name=$(apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)
    if [[ -z $name ]]; then
        apt-get update -q >&2 || true
        name=$(apt-cache depends linux-image-amd64 2>/dev/null |
            sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)
    fi
    echo "$name"
}

# modules_in_order TREE: GUEST_MODULES with their depends= first, as paths
# relative to TREE (lib/modules/VERSION/kernel of the unpacked package).
modules_in_order() {
    local tree=$1 path
    declare -A path_of=() seen=()
    while read -r path; do
        local base=${path##*/}
        base=${base%.ko}
        path_of[${base//-/_}]=$path
    done < <(cd "$tree" && find . -name '*.ko' -printf '%P\n')
    add_module() {
        local name=${1//-/_} dep
        [[ -v seen[$name] ]] && return
        seen[$name]=1
        [[ -v path_of[$name] ]] || fail "module $1 is not in the kernel package"
        for dep in $(tr '\0' '\n' <"$tree/${path_of[$name]}" | sed -n 's/^depends=//p' | tr ',' ' '); do
            add_module "$dep"
        done
        echo "${path_of[$name]}"
    }
    local module
    for module in "${GUEST_MODULES[@]}"; do add_module "$module"; done
}

# ensure_kernel: sets KERNEL_DIR to a cache directory holding vmlinuz,
# modules/*.ko and modules.order, downloading the package the first time.
ensure_kernel() {
    local package unpack
    package=$(kernel_package)
    [[ -n $package ]] || skip "apt offers no linux-image-amd64 kernel"
    KERNEL_DIR=$GUEST_CACHE/$package
    [[ -s $KERNEL_DIR/complete ]] && return
    log "fetching $package"
    rm -rf "$KERNEL_DIR"
    unpack=$GUEST_CACHE/unpack.$$
    mkdir -p "$unpack/modules"
    on_exit "rm -rf '$unpack'"
    (cd "$unpack" && apt-get download -q "$package" >&2) || skip "cannot download $package"
    dpkg-deb -x "$unpack"/*.deb "$unpack/root"
    local tree module
    tree=$(echo "$unpack"/root/lib/modules/*/kernel)
    modules_in_order "$tree" >"$unpack/order"
    while read -r module; do
        cp "$tree/$module" "$unpack/modules/"
        echo "${module##*/}" >>"$unpack/modules.order"
    done <"$unpack/order"
    cp "$unpack"/root/boot/vmlinuz-* "$unpack/vmlinuz"
    mkdir -p "$KERNEL_DIR"
    mv "$unpack/vmlinuz" "$unpack/modules" "$unpack/modules.order" "$KERNEL_DIR/"
    echo "$package" >"$KERNEL_DIR/complete"
    rm -rf "$unpack"
}

# install_with_libraries ROOT FILE DEST: FILE as ROOT/DEST, and the shared
# libraries ldd finds for it at their own paths under ROOT.
install_with_libraries() {
    local root=$1 file=$2 dest=$3 library
    mkdir -p "$(dirname "$root$dest")"
    cp -L "$file" "$root$dest"
    # Debug info would only make the initramfs slower to load.
    strip --strip-debug "$root$dest" 2>/dev/null || true
    ldd "$file" | awk '/=> \// { print $3 } /^\t\/[^ ]* \(/ { print $1 }' |
        while read -r library; do
            [[ -e $root$library ]] || cp -L --parents "$library" "$root"
        done
}

# build_initramfs OUT: busybox, the modules, guest-init.sh as /init, our
# nbdkit as /usr/local/bin/nbdkit, guest-check, and Debian's nbdkit with
# its file plugin (for the benchmark) when installed.
build_initramfs() {
    local out=$1 root=$TEST_TMPDIR/root
    mkdir -p "$root"/{bin,dev,proc,sys,tmp,usr/local/bin,modules}
    cp /bin/busybox "$root/bin/busybox"
    cp "$KERNEL_DIR"/modules/*.ko "$root/modules/"
    cp "$KERNEL_DIR/modules.order" "$root/"
    install -m 755 "$TESTS_DIR/guest/guest-init.sh" "$root/init"
    printf 'CHECK_TIMEOUT=%s\nSERVER_FLAGS="%s"\nBENCH_SECONDS=%s\nBENCH_ROUNDS=%s\nBENCH_DEPTH=32\n' \
        "$GUEST_CHECK_TIMEOUT" "${GUEST_VERBOSE:+-v}" "$GUEST_BENCH_SECONDS" "$GUEST_BENCH_ROUNDS" \
        >"$root/guest.conf"
    install_with_libraries "$root" "$NBDKIT" /usr/local/bin/nbdkit
    install_with_libraries "$root" "$GUEST_CHECK" /usr/local/bin/guest-check
    local file_plugin=/usr/lib/x86_64-linux-gnu/nbdkit/plugins/nbdkit-file-plugin.so
    if [[ $GUEST_BENCH_SECONDS != 0 && -x /usr/bin/nbdkit && -e $file_plugin ]]; then
        install_with_libraries "$root" /usr/bin/nbdkit /usr/bin/nbdkit
        install_with_libraries "$root" "$file_plugin" "$file_plugin"
    fi
    # Compressed: the firmware's copy of the initramfs into the guest is
    # slow under TCG, the kernel's decompression much less so.
    local compress=(cat)
    command -v zstd >/dev/null && compress=(zstd -q -3)
    (cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null) | "${compress[@]}" >"$out"
    rm -rf "$root"
}

# boot_guest INITRAMFS CONSOLE NVME-IMAGE VIRTIO-IMAGE: runs the guest to
# its poweroff, killing it after GUEST_TIMEOUT seconds.
boot_guest() {
    local initramfs=$1 console=$2 nvme=$3 virtio=$4 pid
    # TCG, not KVM: KVM guests do not boot on our machines.  no_timer_check:
    # on a loaded host the kernel's check of the timer through the
    # interrupt-remapped IO-APIC times out under TCG and panics.
    qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 1024 \
        -M q35,kernel-irqchip=split -device intel-iommu,intremap=on \
        -kernel "$KERNEL_DIR/vmlinuz" -initrd "$initramfs" \
        -append "console=ttyS0 quiet loglevel=3 intel_iommu=on no_timer_check panic=-1 rdinit=/init" \
        -drive "file=$nvme,if=none,id=nvm,format=raw" -device nvme,serial=guesttier,drive=nvm \
        -drive "file=$virtio,if=none,id=vb,format=raw" \
        -device virtio-blk-pci,drive=vb,disable-legacy=on,iommu_platform=on \
        -nographic -serial "file:$console" -monitor none -net none -no-reboot \
        >"$TEST_TMPDIR/qemu.log" 2>&1 &
    pid=$!
    on_exit "kill -KILL $pid 2>/dev/null || true"
    # A deadline on the clock: a loaded host stretches each poll.
    local deadline=$((SECONDS + GUEST_TIMEOUT))
    while ((SECONDS < deadline)) && process_alive "$pid"; do
        sleep 0.2
    done
    if process_alive "$pid"; then
        kill -KILL "$pid" 2>/dev/null || true
        log "the guest did not finish within ${GUEST_TIMEOUT}s"
    fi
    wait "$pid" 2>/dev/null || { log "qemu failed:"; cat "$TEST_TMPDIR/qemu.log" >&2; }
}

# bench_summary CONSOLE: each server's 4k random read IOPS over all its
# rounds (reads / seconds), and ours over Debian's nbdkit file plugin's
# from the same guest (TCG makes the absolute figures meaningless, the
# ratios less so).
bench_summary() {
    tr -d '\r' <"$1" | awk '
        $1 == "GUEST-BENCH" && $5 == "reads" {
            name = $2
            if (!(name in reads)) order[++n] = name
            reads[name] += substr($4, 2)
            seconds[name] += $7
        }
        END {
            for (i = 1; i <= n; i++)
                iops[order[i]] = seconds[order[i]] ? reads[order[i]] / seconds[order[i]] : 0
            for (i = 1; i <= n; i++)
                printf "benchmark %s %.0f IOPS\n", order[i], iops[order[i]]
            if (!iops["debian-file"]) exit
            for (i = 1; i <= n; i++)
                if (order[i] != "debian-file")
                    printf "benchmark ratio %s / debian-file: %.2f\n", order[i],
                        iops[order[i]] / iops["debian-file"]
        }'
}

# report CONSOLE: prints the guest's results; fails unless it finished
# and nothing failed.  Sets passed[NAME] for each check that passed.
declare -A passed=()
report() {
    local console=$1 line status name why failed=0
    while read -r line; do
        read -r status name why <<<"${line#GUEST-RESULT }"
        echo "$status $name${why:+: $why}"
        [[ $status == PASS ]] && passed[$name]=1
        [[ $status == FAIL ]] && failed=1
    done < <(tr -d '\r' <"$console" | grep '^GUEST-RESULT ')
    tr -d '\r' <"$console" | sed -n 's/^GUEST-BENCH /benchmark run /p'
    bench_summary "$console"
    if ! tr -d '\r' <"$console" | grep -qx GUEST-DONE || ((failed)); then
        log "console output:"
        tr -d '\r' <"$console" | tail -60 >&2
        fail "the guest tier failed"
    fi
}

# verify_images NVME-IMAGE VIRTIO-IMAGE: what each passed check left in
# the image files, read by the host after the guest is gone.
verify_images() {
    local nvme=$1 virtio=$2 ok=0
    if [[ -v passed[io_uring] ]]; then "$GUEST_CHECK" verify-image "$nvme" 0 || ok=1; fi
    if [[ -v passed[nvme-io_uring] ]]; then "$GUEST_CHECK" verify-image "$nvme" 1 || ok=1; fi
    if [[ -v passed[virtio-blk-vfio-pci] ]]; then
        "$GUEST_CHECK" verify-image "$virtio" 0 || ok=1
    fi
    return "$ok"
}

main() {
    [[ -x $GUEST_CHECK ]] || fail "$GUEST_CHECK is not built"
    ensure_packages
    ensure_kernel
    local started=$SECONDS dir=${GUEST_KEEP:-$TEST_TMPDIR}
    mkdir -p "$dir"
    build_initramfs "$TEST_TMPDIR/initramfs.cpio"
    log "initramfs of $(du -m "$TEST_TMPDIR/initramfs.cpio" | cut -f1) MiB built in $((SECONDS - started)) s"
    rm -f "$dir/nvme.img" "$dir/virtio.img"
    truncate -s "$IMAGE_SIZE" "$dir/nvme.img" "$dir/virtio.img"
    boot_guest "$TEST_TMPDIR/initramfs.cpio" "$dir/console.log" "$dir/nvme.img" "$dir/virtio.img"
    report "$dir/console.log"
    verify_images "$dir/nvme.img" "$dir/virtio.img" || fail "image contents differ"
    echo "PASS (guest run took $((SECONDS - started)) s)"
}

main
