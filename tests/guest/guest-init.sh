#!/bin/busybox sh
# shellcheck shell=dash
# /init of the guest tier's initramfs (built by run-guest.sh), run by
# busybox sh as PID 1 in a TCG guest with an emulated NVMe namespace
# (/dev/nvme0n1, /dev/ng0n1) and a virtio-blk-pci device behind an
# intel-iommu.  It serves each device with our nbdkit's blkio plugin,
# drives it with guest-check, and prints result lines on the serial
# console for the host:
#
#   GUEST-RESULT PASS|FAIL|SKIP NAME [why]
#   GUEST-BENCH NAME IOPS
#   GUEST-DONE
#
# /guest.conf (from the host) sets CHECK_TIMEOUT (seconds for one
# driver's checks), SERVER_FLAGS (e.g. -v), BENCH_SECONDS, BENCH_ROUNDS
# and BENCH_DEPTH.
# Every wait is bounded; the host's timeout bounds the whole run.

/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp && mount -t tmpfs tmpfs /tmp
# shellcheck source=/dev/null
. /guest.conf

result() { echo "GUEST-RESULT $*"; }
# Seconds since boot, on each phase's line, to see where the time goes.
phase() { echo "guest: $(cut -d' ' -f1 /proc/uptime) s: $*"; }

echo "GUEST-START $(uname -r)"
phase "init started"

# Modules in dependency order (modules.order, written by the host).
while read -r module; do
    insmod "/modules/$module" || echo "guest: insmod $module failed"
done </modules.order

# wait_for PATH: up to 10 s for a device node or sysfs entry to appear.
wait_for() {
    i=0
    while [ ! -e "$1" ] && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ -e "$1" ]
}

# start_server NAME ARGS...: our server (or another nbdkit given as
# $SERVER) on /tmp/NAME.sock; sets server_pid.  Fails if it does not
# write its pidfile within 20 s.
start_server() {
    name=$1
    shift
    rm -f "/tmp/$name.sock" "/tmp/$name.pid"
    # shellcheck disable=SC2086  # SERVER_FLAGS is a list of words
    ${SERVER:-/usr/local/bin/nbdkit} -f $SERVER_FLAGS -U "/tmp/$name.sock" -P "/tmp/$name.pid" "$@" \
        >"/tmp/$name.log" 2>&1 &
    server_pid=$!
    i=0
    while [ ! -s "/tmp/$name.pid" ] && [ $i -lt 200 ]; do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    [ -s "/tmp/$name.pid" ]
}

# stop_server: SIGTERM, then SIGKILL if the server is still there after
# 5 s (a driver stuck waiting for a device must not hang the guest).
stop_server() {
    kill "$server_pid" 2>/dev/null
    i=0
    while kill -0 "$server_pid" 2>/dev/null && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
}

# driver_available DRIVER: our blkio plugin has it in this build.
driver_available() {
    /usr/local/bin/nbdkit blkio --dump-plugin 2>/dev/null | grep -qx "blkio_driver_$1=yes"
}

# run_check NAME SLOT BLKIO-ARGS...: read/write/flush/zero/trim checks
# through our server's blkio plugin on one device.
run_check() {
    name=$1 slot=$2
    shift 2
    if ! start_server "$name" blkio "$@"; then
        sed "s/^/guest: $name: /" "/tmp/$name.log"
        result FAIL "$name" "the server did not start"
        stop_server
        return
    fi
    if timeout "$CHECK_TIMEOUT" /usr/local/bin/guest-check check "/tmp/$name.sock" "$slot" \
        >"/tmp/$name.out" 2>&1; then
        result PASS "$name" "$(grep -c '^PASS' "/tmp/$name.out") steps"
    else
        status=$?
        sed "s/^/guest: $name: /" "/tmp/$name.out" "/tmp/$name.log"
        if [ $status = 143 ]; then
            result FAIL "$name" "no answer within ${CHECK_TIMEOUT}s after:" \
                "$(grep -E '^(PASS|FAIL)' "/tmp/$name.out" | tail -1)"
        else
            result FAIL "$name" "$(grep -m1 '^FAIL' "/tmp/$name.out")"
        fi
    fi
    stop_server
}

# bind_to_vfio BDF: hands the PCI function to vfio-pci, as an admin
# would before using virtio-blk-vfio-pci.
bind_to_vfio() {
    echo vfio-pci >"/sys/bus/pci/devices/$1/driver_override"
    echo "$1" >/sys/bus/pci/drivers_probe
    [ "$(basename "$(readlink "/sys/bus/pci/devices/$1/driver")")" = vfio-pci ]
}

# The first modern virtio-blk PCI function (vendor 0x1af4, device 0x1042).
find_virtio_blk() {
    for dev in /sys/bus/pci/devices/*; do
        if [ "$(cat "$dev/vendor")" = 0x1af4 ] && [ "$(cat "$dev/device")" = 0x1042 ]; then
            basename "$dev"
            return
        fi
    done
}

# bench NAME ARGS...: 4k random reads at BENCH_DEPTH for BENCH_SECONDS
# through a server started with ARGS.
bench() {
    name=$1
    shift
    echo 3 >/proc/sys/vm/drop_caches
    if start_server "$name" "$@" &&
        line=$(timeout $((BENCH_SECONDS + 30)) /usr/local/bin/guest-check bench \
            "/tmp/$name.sock" "$BENCH_SECONDS" "$BENCH_DEPTH"); then
        echo "GUEST-BENCH $name ${line#IOPS }"
    else
        sed "s/^/guest: $name: /" "/tmp/$name.log"
        echo "GUEST-BENCH $name failed"
    fi
    stop_server
}

phase "modules loaded"

if wait_for /dev/nvme0n1; then
    run_check io_uring 0 io_uring path=/dev/nvme0n1
else
    result FAIL io_uring "no /dev/nvme0n1"
fi

# The devices the drivers need, whether or not this build has them.
if wait_for /dev/ng0n1 && [ -c /dev/ng0n1 ]; then
    result PASS nvme-char-device "/dev/ng0n1"
else
    result FAIL nvme-char-device "no /dev/ng0n1 character device"
fi
bdf=$(find_virtio_blk)
if [ -z "$bdf" ]; then
    result FAIL vfio-bind "no virtio-blk PCI function"
elif ! bind_to_vfio "$bdf"; then
    result FAIL vfio-bind "$bdf could not be bound to vfio-pci"
elif ! wait_for "/dev/vfio/$(basename "$(readlink "/sys/bus/pci/devices/$bdf/iommu_group")")"; then
    result FAIL vfio-bind "no /dev/vfio node for the IOMMU group of $bdf"
else
    result PASS vfio-bind "$bdf"
fi

if ! driver_available nvme-io_uring; then
    result SKIP nvme-io_uring "not in this build"
else
    run_check nvme-io_uring 1 nvme-io_uring path=/dev/ng0n1
fi

if ! driver_available virtio-blk-vfio-pci; then
    result SKIP virtio-blk-vfio-pci "not in this build"
else
    run_check virtio-blk-vfio-pci 0 virtio-blk-vfio-pci "path=/sys/bus/pci/devices/$bdf"
fi

phase "checks done"
# Rounds of one run per server, in turn, so that a change in the host's
# load falls on all of them alike.
round=0
while [ "$BENCH_SECONDS" != 0 ] && [ $round -lt "$BENCH_ROUNDS" ]; do
    round=$((round + 1))
    if driver_available nvme-io_uring; then
        bench ours-nvme-io_uring blkio nvme-io_uring path=/dev/ng0n1
    fi
    bench ours-io_uring blkio io_uring path=/dev/nvme0n1
    if [ -x /usr/bin/nbdkit ]; then
        SERVER=/usr/bin/nbdkit bench debian-file file /dev/nvme0n1
    fi
done
phase "benchmark done"
echo GUEST-DONE
sync
poweroff -f
