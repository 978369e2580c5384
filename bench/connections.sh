#!/bin/bash
# Connection load (not a test): how many concurrent clients each server
# holds and what an idle one costs, ours against Debian's nbdkit, side by
# side in one run, both serving a 1 GiB memory export on a Unix socket.
#
# For each count, opens that many connections (each through NBD_OPT_GO)
# and holds them idle, then a few of them do verified 4k I/O (write a
# pattern, read it back, compare) for a few seconds.  Prints, per server
# and count: connections held, server RSS before and with them, RSS per
# idle connection, thread count, verified I/O operations and errors.
#
# Usage: bench/connections.sh
# Environment: NBDKIT (ours, default build/nbdkit), REFERENCE_NBDKIT
# (default /usr/bin/nbdkit), OURS_COUNTS (default "100 500 2000"),
# REFERENCE_COUNTS (default "100 500": nbdkit runs 16 threads per client),
# ACTIVE (clients doing I/O, default 16), IO_SECONDS (default 5).
source "$(dirname "$0")/lib.sh"
[[ -x $NBDKIT ]] || fail "$NBDKIT is not built (build it, or set NBDKIT)"

ours_nbdkit=$NBDKIT
reference_nbdkit=${REFERENCE_NBDKIT:-/usr/bin/nbdkit}
holder=$(dirname "$0")/hold_connections.py
ulimit -n "$(ulimit -Hn)"

# run SERVER_BINARY NAME COUNT: one server, COUNT clients; prints a row.
run() {
    local binary=$1 name=$2 count=$3 figures
    NBDKIT=$binary start_server_unix memory 1G
    figures=$(/usr/bin/python3 "$holder" "$server_sock" "$count" "${ACTIVE:-16}" \
        "${IO_SECONDS:-5}" "$server_pid")
    stop_server "$server_pid" || true
    read -r held rss_before rss_held threads_before threads_held ops errors <<<"$figures"
    awk -v n="$name" -v c="$count" -v h="$held" -v b="$rss_before" -v r="$rss_held" \
        -v t="$threads_held" -v o="$ops" -v e="$errors" 'BEGIN {
        printf "%-7s %6d %6d %9.1f %9.1f %8.1f %8d %7d %6d\n", n, c, h, b / 1024, r / 1024,
            h ? (r - b) / h : 0, t, o, e }'
}

printf "%-7s %6s %6s %9s %9s %8s %8s %7s %6s\n" server wanted held "RSS0 MiB" "RSS MiB" \
    "KiB/conn" threads "I/O ops" errors
for count in ${OURS_COUNTS:-100 500 2000}; do
    run "$ours_nbdkit" ours "$count"
done
for count in ${REFERENCE_COUNTS:-100 500}; do
    run "$reference_nbdkit" nbdkit "$count"
done
