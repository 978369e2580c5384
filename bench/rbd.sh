#!/bin/bash
# rbd plugin benchmark (not a test): our `nbdkit rbd` against qemu-nbd's rbd
# driver (Debian's qemu-block-extra; nbdkit 1.32 has no rbd plugin), side by
# side in one run, on the same image of a one-node Ceph cluster that this
# script starts (tests/rbd/ceph-cluster.sh; memstore OSD) and stops.
#
#   fio (nbd engine, one connection): 4k random read and write at queue
#   depth 32, 1 MiB sequential read and write at queue depth 8.
#
# Prints requests/s, MiB/s and the NBD server's CPU per request (the OSD's
# and monitor's CPU is the same for both and left out), and the ratios
# ours / qemu-nbd.
#
# Usage: bench/rbd.sh
# Environment: NBDKIT (ours, default build/nbdkit), BENCH_SECONDS per fio
# job (default 10), IMAGE_SIZE (default 1G).
source "$(dirname "$0")/lib.sh"
require_commands fio qemu-nbd rbd
[[ -x $NBDKIT ]] || fail "$NBDKIT is not built (build it, or set NBDKIT)"
image_size=${IMAGE_SIZE:-1G}

cluster=$TEST_TMPDIR/cluster
CEPH_OSD_BYTES=$((3 << 30)) "$SRCDIR/tests/rbd/ceph-cluster.sh" start "$cluster" >/dev/null
on_exit "'$SRCDIR/tests/rbd/ceph-cluster.sh' stop '$cluster'"
conf=$cluster/ceph.conf
rbd -c "$conf" create --size "$image_size" nbd/bench

print_setup
echo "peer: $(qemu-nbd --version | head -1), rbd driver"
printf '\n%-22s %9s %9s %6s %8s %8s %6s %9s %9s %6s\n' workload ours qemu-nbd ratio \
    ours qemu ratio "CPU us" "CPU us" ratio
printf '%-22s %9s %9s %6s %8s %8s %6s %9s %9s %6s\n' "" "req/s" "req/s" "" \
    "MiB/s" "MiB/s" "" ours qemu ""

# start_qemu_nbd: qemu-nbd serving the image on a Unix socket; sets
# server_pid and server_uri.
start_qemu_nbd() {
    local sock=$TEST_TMPDIR/qemu-nbd.sock
    rm -f "$sock"
    qemu-nbd -f raw --socket="$sock" --persistent --shared=8 --cache=writeback \
        "rbd:nbd/bench:conf=$conf" 2>"$TEST_TMPDIR/qemu-nbd.log" &
    server_pid=$!
    track_server "$server_pid"
    for ((i = 0; i < 300; i++)); do [[ -S $sock ]] && break; sleep 0.1; done
    server_uri="nbd+unix:///?socket=$sock"
}

# compare LABEL FIO-ARGS...
compare() {
    local label=$1 ours reference
    shift
    NBDKIT=$ours_nbdkit start_server_unix rbd nbd/bench conf="$conf"
    ours=$(measure "$server_pid" run_fio "$server_uri" "$seconds" "$@")
    stop_server "$server_pid"
    start_qemu_nbd
    reference=$(measure "$server_pid" run_fio "$server_uri" "$seconds" "$@")
    stop_server "$server_pid" || true
    print_comparison "$label" "$ours" "$reference"
}

# Write the whole image first, so that reads find data in every object.
NBDKIT=$ours_nbdkit "$ours_nbdkit" -U - rbd nbd/bench conf="$conf" \
    --run 'fio --name=fill --ioengine=nbd --uri="$uri" --rw=write --bs=1M --iodepth=8 --output=/dev/null'
compare "4k randread QD32" --rw=randread --bs=4k --iodepth=32
compare "4k randwrite QD32" --rw=randwrite --bs=4k --iodepth=32
compare "1M read QD8" --rw=read --bs=1M --iodepth=8
compare "1M write QD8" --rw=write --bs=1M --iodepth=8
