#!/bin/bash
# ceph-cluster.sh start DIR | stop DIR: a throw-away one-node Ceph cluster
# for tests and benchmarks (never for real data), from Debian's packages,
# without systemd: one monitor on 127.0.0.1 and one OSD keeping its objects
# in memory (memstore), cephx off, pool "nbd" of size 1.  Everything lives
# in DIR: DIR/ceph.conf is what clients use (`rbd -c DIR/ceph.conf ...`,
# `nbdkit rbd ... conf=DIR/ceph.conf`); DIR/*.pid are the daemons, which
# `stop` kills by PID.  Exits 77 when the Ceph packages are missing.
# Environment: CEPH_OSD_BYTES (memstore size, default 2 GiB).
set -eEuo pipefail
action=${1:?usage: ceph-cluster.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: ceph-cluster.sh start|stop DIR}")

stop() {
  local pidfile pid i
  for pidfile in "$dir"/osd.pid "$dir"/mon.pid; do
    [[ -f $pidfile ]] || continue
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

case $action in
  stop)
    stop
    exit 0
    ;;
  start)
    for command in ceph-mon ceph-osd ceph monmaptool rbd; do
      command -v "$command" >/dev/null || { echo "$0: $command not installed" >&2; exit 77; }
    done
    # Now and then the new OSD is refused by the monitor ("wrong fsid")
    # and exits: a fresh try (new cluster) gets past it.
    for attempt in 1 2 3; do
      "$0" attempt "$dir" && exit 0
      echo "ceph-cluster.sh: attempt $attempt failed" >&2
    done
    exit 1
    ;;
  attempt) ;;
  *)
    echo "usage: ceph-cluster.sh start|stop DIR" >&2
    exit 2
    ;;
esac

trap 'echo "ceph-cluster.sh: failed at line $LINENO; logs in $dir" >&2; stop' ERR

# A cluster left over from an earlier run (stopped or not) starts afresh.
stop
rm -rf "$dir"
mkdir -p "$dir/mon" "$dir/osd" "$dir/run"
# A free port for the monitor (v1 protocol only: one address to manage).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fsid=$(cat /proc/sys/kernel/random/uuid)
cat >"$dir/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$port
auth cluster required = none
auth service required = none
auth client required = none
ms bind msgr2 = false
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
osd objectstore = memstore
memstore device bytes = ${CEPH_OSD_BYTES:-2147483648}
osd max object name len = 256
osd max object namespace len = 64
osd crush chooseleaf type = 0
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/\$name.log
pid file = $dir/\$type.pid
mon data = $dir/mon
osd data = $dir/osd
mon warn on pool no redundancy = false
[client]
log file = /dev/null
admin socket =
CONF

monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$port]" "$dir/monmap" >/dev/null
ceph-mon -c "$dir/ceph.conf" --mkfs -i a --monmap "$dir/monmap"
ceph-mon -c "$dir/ceph.conf" -i a
ceph() { command ceph -c "$dir/ceph.conf" --connect-timeout 30 "$@"; }
osd_uuid=$(cat /proc/sys/kernel/random/uuid)
osd_id=$(ceph osd create "$osd_uuid")
ceph-osd -c "$dir/ceph.conf" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" 2>"$dir/osd-mkfs.log"
ceph-osd -c "$dir/ceph.conf" -i "$osd_id" 2>>"$dir/osd-mkfs.log"
ceph osd crush add "osd.$osd_id" 1.0 host=localhost root=default >/dev/null 2>&1 || true
# Wait (bounded) for the OSD to be up and in.
for ((i = 0; i < 120; i++)); do
  ceph osd stat 2>/dev/null | grep -q '1 up.*1 in' && break
  sleep 0.5
done
ceph osd stat | grep -q '1 up.*1 in' || { echo "$0: the OSD did not come up" >&2; exit 1; }
ceph osd pool create nbd 8 8 >/dev/null 2>&1
rbd -c "$dir/ceph.conf" pool init nbd
echo "ceph-cluster.sh: cluster up, conf $dir/ceph.conf, pool nbd"
