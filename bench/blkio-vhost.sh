#!/bin/bash
# blkio virtio-blk-vhost-user benchmark (not a test), side by side in one
# run on the same file (page-cached, /dev/shm):
#
#   ours:   nbdkit blkio virtio-blk-vhost-user in front of
#           qemu-storage-daemon's vhost-user-blk export;
#   qsd:    qemu-storage-daemon's own NBD export of the same node (what a
#           user would run instead);
#   nbdkit: Debian's `nbdkit file` on the file.
#
# fio (nbd engine, one connection): 4k random read and write at queue
# depth 32, 1 MiB sequential read at queue depth 8.  Prints requests/s and
# CPU per request: for ours, that of our server plus the daemon behind it
# (the whole stack); for qsd, the daemon's; for nbdkit, nbdkit's.  Ratios
# are ours / qsd and ours / nbdkit.
#
# Usage: bench/blkio-vhost.sh
# Environment: NBDKIT (ours, default build/nbdkit), REFERENCE_NBDKIT
# (default /usr/bin/nbdkit), BENCH_SECONDS per fio job (default 10),
# FILE_SIZE (default 1G), QUEUES (the daemon's virtqueues, default 1; our
# plugin's queues are its default, 16, sharing them).
source "$(dirname "$0")/lib.sh"
require_commands fio qemu-storage-daemon
[[ -x $NBDKIT ]] || fail "$NBDKIT is not built (build it, or set NBDKIT)"

ours_nbdkit=$NBDKIT
reference_nbdkit=${REFERENCE_NBDKIT:-/usr/bin/nbdkit}
seconds=${BENCH_SECONDS:-10}
file_size=${FILE_SIZE:-1G}
queues=${QUEUES:-1}

file=$(mktemp /dev/shm/nbdkit-blkio-bench.XXXXXX)
on_exit "rm -f '$file'"
head -c "$file_size" /dev/urandom >"$file"

qsd_dir=$TEST_TMPDIR/qsd
mkdir -p "$qsd_dir"
qemu-storage-daemon \
    --blockdev "driver=file,node-name=file0,filename=$file" \
    --nbd-server "addr.type=unix,addr.path=$qsd_dir/nbd.sock" \
    --export "type=vhost-user-blk,id=vu0,node-name=file0,addr.type=unix,addr.path=$qsd_dir/vhost.sock,writable=on,num-queues=$queues" \
    --export "type=nbd,id=nbd0,node-name=file0,name=disk,writable=on" \
    --pidfile "$qsd_dir/qsd.pid" --daemonize
qsd_pid=$(cat "$qsd_dir/qsd.pid")
on_exit "kill $qsd_pid"
qsd_uri="nbd+unix:///disk?socket=$qsd_dir/nbd.sock"

echo "ours:   $ours_nbdkit blkio virtio-blk-vhost-user (daemon with num-queues=$queues)"
echo "qsd:    $(qemu-storage-daemon --version | head -1), NBD export"
echo "nbdkit: $reference_nbdkit file ($("$reference_nbdkit" --version | head -1))"
echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), kernel $(uname -r)"
echo "file in /dev/shm, $file_size, $seconds s per job"
echo
printf '%-18s %9s %9s %9s %6s %6s %8s %8s %8s %6s %6s\n' workload ours qsd nbdkit \
    "/qsd" "/nbdk" "CPU us" "CPU us" "CPU us" "/qsd" "/nbdk"
printf '%-18s %9s %9s %9s %6s %6s %8s %8s %8s %6s %6s\n' "" "req/s" "req/s" "req/s" "" "" \
    "ours+qsd" qsd nbdkit "" ""

# stack_ticks PID...: CPU ticks of every process given.
stack_ticks() {
    local total=0 pid
    for pid in "$@"; do total=$((total + $(process_cpu_ticks "$pid"))); done
    echo "$total"
}

# run LABEL PIDS URI FIO-ARGS...: "REQ/S CPU-US-PER-REQUEST" of one fio job,
# with the CPU of the processes in PIDS (space-separated).
run() {
    local pids=$1 uri=$2 before after requests elapsed bytes
    shift 2
    # shellcheck disable=SC2086
    before=$(stack_ticks $pids)
    read -r requests elapsed bytes <<<"$(run_fio "$uri" "$seconds" "$@")"
    # shellcheck disable=SC2086
    after=$(stack_ticks $pids)
    awk -v r="$requests" -v s="$elapsed" 'BEGIN { printf "%.0f ", r / s }'
    cpu_us_per_request $((after - before)) "$requests"
    echo
}

compare() {
    local label=$1 ours qsd reference
    shift
    NBDKIT=$ours_nbdkit start_server_unix blkio virtio-blk-vhost-user path="$qsd_dir/vhost.sock"
    read -ra ours <<<"$(run "$server_pid $qsd_pid" "$server_uri" "$@")"
    stop_server "$server_pid"
    read -ra qsd <<<"$(run "$qsd_pid" "$qsd_uri" "$@")"
    NBDKIT=$reference_nbdkit start_server_unix file "$file"
    read -ra reference <<<"$(run "$server_pid" "$server_uri" "$@")"
    stop_server "$server_pid"
    printf '%-18s %9s %9s %9s %6s %6s %8s %8s %8s %6s %6s\n' "$label" \
        "${ours[0]}" "${qsd[0]}" "${reference[0]}" \
        "$(ratio "${ours[0]}" "${qsd[0]}")" "$(ratio "${ours[0]}" "${reference[0]}")" \
        "${ours[1]}" "${qsd[1]}" "${reference[1]}" \
        "$(ratio "${ours[1]}" "${qsd[1]}")" "$(ratio "${ours[1]}" "${reference[1]}")"
    record "$label" "req/s vs qsd NBD" "${ours[0]}" "${qsd[0]}"
    record "$label" "req/s vs nbdkit file" "${ours[0]}" "${reference[0]}"
}

compare "4k randread QD32" --rw=randread --bs=4k --iodepth=32
compare "4k randwrite QD32" --rw=randwrite --bs=4k --iodepth=32
compare "1M read QD8" --rw=read --bs=1M --iodepth=8
