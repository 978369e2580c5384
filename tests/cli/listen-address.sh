#!/bin/bash
# Where a server listens: `-i ADDR --run` without -p serves TCP on ADDR
# (not a private Unix socket), and a port taken on one address family is
# served on the other.
source "$(dirname "$0")/../lib/common.sh"
require_commands nbdinfo

# -i with --run: TCP on that address, and $uri names it.
port=$(free_tcp_port)
uri=$("$NBDKIT" -i 127.0.0.1 -p "$port" null 1M --run 'echo "$uri"')
[[ $uri == "nbd://127.0.0.1:$port" ]] || fail "-i -p --run: \$uri is $uri"
out=$("$NBDKIT" -i 127.0.0.1 null 1M --run 'echo "$uri $unixsocket"; nbdinfo --size "$uri"')
[[ $out == $'nbd://127.0.0.1 \n1048576' ]] || fail "-i --run without -p: $out"

# A port taken on one address family is served on the other.  Without -i
# the server listens on every address, so this part runs in a network
# namespace of its own, where the only interface is loopback.
unshare -n true 2>/dev/null || skip "cannot create a network namespace (not root?)"
export NBDKIT TEST_TMPDIR
unshare -n bash -euo pipefail -c '
ip link set lo up
port=10811
/usr/bin/python3 -c "
import socket, time
s = socket.socket()
s.bind((\"0.0.0.0\", $port))
s.listen()
print(\"ready\", flush=True)
time.sleep(60)" > "$TEST_TMPDIR/holder.out" &
holder=$!
trap "kill $holder" EXIT
for ((i = 0; i < 100; i++)); do
    grep -q ready "$TEST_TMPDIR/holder.out" && break
    kill -0 $holder 2>/dev/null || { echo "FAIL: could not take port $port"; exit 1; }
    sleep 0.1
done
out=$("$NBDKIT" -p $port null 1M --run "nbdinfo --size nbd://[::1]:$port" 2>&1) ||
    { echo "FAIL: port taken on IPv4 only: $out"; exit 1; }
[[ $out == 1048576 ]] || { echo "FAIL: served on IPv6: $out"; exit 1; }
if out=$("$NBDKIT" -i 0.0.0.0 -p $port null 1M --run true 2>&1); then
    echo "FAIL: a port in use on the only family was not an error"; exit 1
fi
grep -q "Address already in use" <<<"$out" || { echo "FAIL: unclear error: $out"; exit 1; }
' || fail "address-family fallback (see above)"
echo PASS
