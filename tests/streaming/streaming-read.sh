#!/usr/bin/env bash
# read= mode with real clients: a producer writes an image into a FIFO (or
# serves it on a socket) and qemu-img / nbdcopy copy it out of the server.
source "$(dirname "$0")/functions.sh"
require_commands qemu-img nbdcopy

make_image input 24
size=$(stat -c %s input)

# The producer is there before the server.
mkfifo in.fifo
start_background producer1 sh -c 'cat input > in.fifo'
producer=$background_pid
"$NBDKIT" -U - streaming read=in.fifo size="$size" \
    --run 'qemu-img convert -f raw -O raw "$uri" got1' 2>server1.log ||
    fail "qemu-img convert from read=in.fifo: $(cat server1.log)"
wait_background "$producer" "producer into in.fifo"
same_content input got1

# The producer starts after the client; the FIFO is created by the server.
"$NBDKIT" -U - streaming read=new.fifo size="$size" \
    --run 'timeout 120 cat input > new.fifo & nbdcopy "$uri" got2' 2>server2.log ||
    fail "nbdcopy from read=new.fifo: $(cat server2.log)"
[[ -p new.fifo ]] || fail "read=new.fifo was not created as a FIFO"
same_content input got2

# Without -f qemu-img reads the first sectors to probe the format, then
# reads them again: the server keeps the head of the stream for that.
start_background producer3 sh -c 'cat input > in.fifo'
producer=$background_pid
"$NBDKIT" -U - streaming read=in.fifo size="$size" \
    --run 'qemu-img convert -O raw "$uri" got3' 2>server3.log ||
    fail "qemu-img convert (probing the format) from read=: $(cat server3.log)"
wait_background "$producer" "producer into in.fifo"
same_content input got3

# From a Unix socket whose listener sends the image.
/usr/bin/python3 - producer.sock input <<'PY' 2>producer.log &
import socket, sys
server = socket.socket(socket.AF_UNIX)
server.bind(sys.argv[1])
server.listen(1)
server.settimeout(120)
conn, _ = server.accept()
with open(sys.argv[2], "rb") as source:
    conn.sendfile(source)
conn.close()
PY
producer=$!
on_exit "kill $producer 2>/dev/null"
for ((i = 0; i < 100; i++)); do [[ -S producer.sock ]] && break; sleep 0.1; done
"$NBDKIT" -U - streaming read=producer.sock size="$size" \
    --run 'nbdcopy "$uri" got4' 2>server4.log ||
    fail "nbdcopy from read=producer.sock: $(cat server4.log)"
wait_background "$producer" "socket producer"
same_content input got4

# The export is read-only.
out=$("$NBDKIT" -U - streaming read=/dev/zero --run 'nbdinfo --json "$uri"')
grep -q '"is_read_only": true' <<<"$out" || fail "read= export is writable: $out"

echo "$0: PASS"
