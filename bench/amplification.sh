#!/bin/bash
# Memory before authentication (not a test): 16 clients each send an
# option header announcing a 64 MiB payload and nothing more; then 16 send
# the largest payload an option may carry (a full list of meta-context
# queries), half of it.  Prints each server's peak RSS (VmHWM) before and
# after, ours against Debian's nbdkit side by side, with --tls=off and with
# --tls=require (before STARTTLS nothing the client says is trusted).
#
# Usage: bench/amplification.sh
# Environment: NBDKIT (ours, default build/nbdkit), REFERENCE_NBDKIT
# (default /usr/bin/nbdkit).
source "$(dirname "$0")/lib.sh"
[[ -x $NBDKIT ]] || fail "$NBDKIT is not built (build it, or set NBDKIT)"
ours_nbdkit=$NBDKIT
reference_nbdkit=${REFERENCE_NBDKIT:-/usr/bin/nbdkit}
psk=$TEST_TMPDIR/keys.psk
psktool -u alice -p "$psk" >/dev/null

# attack PID SOCKET: prints "HWM_BEFORE_KIB HWM_AFTER_KIB".
attack() {
    /usr/bin/python3 - "$1" "$2" <<'PY'
import socket, struct, sys, time
pid, path = int(sys.argv[1]), sys.argv[2]
IHAVEOPT, OPT_GO, OPT_LIST_META_CONTEXT = 0x49484156454F5054, 7, 9

def hwm():
    with open("/proc/%d/status" % pid) as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))

def client(option, length, payload=b""):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.recv(18)                                  # greeting
    s.sendall(struct.pack(">I", 3))             # fixed newstyle, no zeroes
    s.sendall(struct.pack(">QII", IHAVEOPT, option, length) + payload)
    return s

before = hwm()
held = [client(OPT_GO, 64 << 20) for _ in range(16)]
held += [client(OPT_LIST_META_CONTEXT, 69704, bytes(32 << 10)) for _ in range(16)]
time.sleep(1)
print(before, hwm())
for s in held:
    s.close()
PY
}

printf "%-7s %-12s %10s %10s\n" server tls "HWM0 MiB" "HWM MiB"
for tls in off require; do
    for pair in "ours $ours_nbdkit" "nbdkit $reference_nbdkit"; do
        read -r name binary <<<"$pair"
        NBDKIT=$binary start_server_unix --tls="$tls" --tls-psk="$psk" memory 1G
        read -r hwm0 hwm1 <<<"$(attack "$server_pid" "$server_sock")"
        stop_server "$server_pid" || true
        awk -v n="$name" -v t="$tls" -v a="$hwm0" -v b="$hwm1" \
            'BEGIN { printf "%-7s %-12s %10.1f %10.1f\n", n, t, a / 1024, b / 1024 }'
    done
done
