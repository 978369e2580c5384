# shellcheck shell=bash disable=SC2034  # qsd_* are for the caller
# Helpers for the virtio-blk-vhost-user tests: qemu-storage-daemon serving
# a file in $TEST_TMPDIR over vhost-user-blk and, for cross-checks, over
# its own NBD server (the same block node).
. "$(dirname "$0")/../lib/common.sh"
require_commands qemu-storage-daemon

qsd_count=0

# start_qsd DISK [EXPORT-OPTIONS] [BLOCKDEV-OPTIONS]: starts
# qemu-storage-daemon, daemonized (it returns once listening).  Sets
# qsd_pid, qsd_vhost (the vhost-user socket) and qsd_nbd (an NBD URI of the
# same node).  EXPORT-OPTIONS default to ",writable=on".
start_qsd() {
    local disk=$1 export_opts=${2-,writable=on} blockdev_opts=${3-}
    local n=$((qsd_count++)) nbd_writable=off
    [[ $export_opts == *writable=on* ]] && nbd_writable=on
    local dir=$TEST_TMPDIR/qsd-$n
    mkdir -p "$dir"
    qsd_vhost=$dir/vhost.sock
    qsd_nbd="nbd+unix:///disk?socket=$dir/nbd.sock"
    qemu-storage-daemon \
        --blockdev "driver=file,node-name=file0,filename=$disk$blockdev_opts" \
        --nbd-server "addr.type=unix,addr.path=$dir/nbd.sock" \
        --export "type=vhost-user-blk,id=vu0,node-name=file0,addr.type=unix,addr.path=$qsd_vhost$export_opts" \
        --export "type=nbd,id=nbd0,node-name=file0,name=disk,writable=$nbd_writable" \
        --pidfile "$dir/qsd.pid" --daemonize 2>"$dir/qsd.log" ||
        fail "qemu-storage-daemon did not start: $(cat "$dir/qsd.log")"
    qsd_pid=$(cat "$dir/qsd.pid")
    on_exit "stop_qsd $qsd_pid"
}

# stop_qsd PID: stops a daemon started above (it is not our child: it
# daemonized), waiting a bounded time.
stop_qsd() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        process_alive "$pid" || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

# make_disk FILE SIZE: a file of SIZE bytes of random data.
make_disk() {
    head -c "$2" /dev/urandom >"$1"
}
