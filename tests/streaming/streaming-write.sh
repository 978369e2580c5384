#!/usr/bin/env bash
# write= / pipe= mode with real clients: what qemu-img and nbdcopy write
# comes out of the FIFO (or socket) byte for byte.
source "$(dirname "$0")/functions.sh"
require_commands qemu-img nbdcopy

make_image input 24
size=$(stat -c %s input)

# The seed's example verbatim, the reader draining an existing FIFO.
mkfifo output
start_background reader1 sh -c 'cat output > got1'
reader=$background_pid
"$NBDKIT" -U "$TEST_TMPDIR/sock1" streaming pipe=output \
    --run 'qemu-img convert -n input -O raw $nbd' 2>server1.log ||
    fail "qemu-img convert into pipe=output: $(cat server1.log)"
wait_background "$reader" "reader of output"
same_content input got1

# The FIFO does not exist: the server creates it, and the reader starts
# only after the client (inside --run).  The reader sees the end of the
# stream when the server exits, after the command.
rm output
"$NBDKIT" -U - streaming write=output \
    --run '(timeout 120 cat output > got2; echo done > reader2.done) & nbdcopy input "$uri"' \
    2>server2.log || fail "nbdcopy into write=output: $(cat server2.log)"
[[ -p output ]] || fail "write=output was not created as a FIFO"
for ((i = 0; i < 600; i++)); do [[ -s reader2.done ]] && break; sleep 0.1; done
same_content input got2

# qemu-img through a Unix socket that a listener saves to a file.
/usr/bin/python3 - listener.sock got3 <<'PY' 2>listener.log &
import socket, sys
server = socket.socket(socket.AF_UNIX)
server.bind(sys.argv[1])
server.listen(1)
server.settimeout(120)
conn, _ = server.accept()
with open(sys.argv[2], "wb") as out:
    while chunk := conn.recv(1 << 20):
        out.write(chunk)
PY
listener=$!
on_exit "kill $listener 2>/dev/null"
for ((i = 0; i < 100; i++)); do [[ -S listener.sock ]] && break; sleep 0.1; done
"$NBDKIT" -U - streaming write=listener.sock \
    --run 'qemu-img convert -n -f raw -O raw input "$uri"' 2>server3.log ||
    fail "qemu-img convert into a socket: $(cat server3.log)"
wait_background "$listener" "socket listener"
same_content input got3

# The export looks endless unless size= is given.
out=$("$NBDKIT" -U - streaming write=/dev/null --run 'nbdinfo --size "$uri"')
[[ $out == $((2 ** 63 - 2 ** 30)) ]] || fail "default size is $out"
out=$("$NBDKIT" -U - streaming write=/dev/null size=1G --run 'nbdinfo --size "$uri"')
[[ $out == $((2 ** 30)) ]] || fail "size=1G gives $out"

echo "$0: PASS ($size bytes each way)"
