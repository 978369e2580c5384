#!/usr/bin/env bash
# Debian's own plugin .so files served by our server and by Debian's
# nbdkit: the client must see the same bytes and the same capabilities.
# Script plugins (sh, eval, python) run a small script of the test's own.
. "$(dirname "$0")/functions.sh"
require_commands nbdsh nbdinfo nbdcopy qemu-img
[[ -x $REFERENCE_NBDKIT ]] || skip "Debian's nbdkit is not installed"
[[ -d $DEBIAN_PLUGINDIR ]] || skip "Debian's plugins are not installed"

# The client's view: size, capabilities, the content's checksum and map.
describe() {
    nbdinfo "$1" | grep -E 'export-size|is_read_only|can_(flush|fua|trim|zero|multi_conn|cache|extents)'
    nbdcopy "$1" - | md5sum
    nbdinfo --map "$1"
}

# same_view NAME ARGS...: serves ARGS with both servers and compares.
same_view() {
    local name=$1 which server
    shift
    for which in ours reference; do
        server=$NBDKIT
        [[ $which = reference ]] && server=$REFERENCE_NBDKIT
        NBDKIT=$server start_server_unix "$@"
        describe "$server_uri" >"$TEST_TMPDIR/$name.$which"
        stop_server "$server_pid"
    done
    diff "$TEST_TMPDIR/$name.ours" "$TEST_TMPDIR/$name.reference" ||
        fail "$name: our server and nbdkit differ"
    echo "$name: same"
}

head -c 3M /dev/urandom >"$TEST_TMPDIR/disk.img"
truncate -s 8M "$TEST_TMPDIR/disk.img"

same_view null "$(debian_plugin null)" 4M
same_view pattern "$(debian_plugin pattern)" 5M
same_view data "$(debian_plugin data)" '1 2 3 @0x10000 "hello" @0x20000 0xff*1000' size=1M
same_view file -r "$(debian_plugin file)" "$TEST_TMPDIR/disk.img"
same_view memory "$(debian_plugin memory)" 2M
# By short name: no built-in plugin is called pattern, eval, sh or python.
same_view eval-short eval get_size='echo 128k' \
    pread='head -c $3 /dev/zero | tr "\0" e'

cat >"$TEST_TMPDIR/disk.sh" <<'SCRIPT'
#!/bin/bash
# A 64 KiB disk of 's' bytes, read-only.
case "$1" in
    get_size) echo 65536 ;;
    pread) head -c "$3" /dev/zero | tr '\0' 's' ;;
    *) exit 2 ;;
esac
SCRIPT
chmod +x "$TEST_TMPDIR/disk.sh"
same_view sh sh "$TEST_TMPDIR/disk.sh"

if [[ -f $DEBIAN_PLUGINDIR/nbdkit-python-plugin.so ]]; then
    cat >"$TEST_TMPDIR/disk.py" <<'SCRIPT'
import nbdkit
API_VERSION = 2
disk = bytearray(b"py" * 32768)
def open(readonly):
    return 1
def get_size(h):
    return len(disk)
def pread(h, buf, offset, flags):
    buf[:] = disk[offset:offset + len(buf)]
def pwrite(h, buf, offset, flags):
    disk[offset:offset + len(buf)] = buf
SCRIPT
    same_view python python "$TEST_TMPDIR/disk.py"
    # Writes through the interpreter come back.
    start_server_unix python "$TEST_TMPDIR/disk.py"
    nbdsh -u "$server_uri" -c 'h.pwrite(b"written", 1000); assert h.pread(7, 1000) == b"written"'
    stop_server "$server_pid"
else
    echo "python: Debian's python plugin is not installed (nbdkit-plugin-python): skipped"
fi

# curl over a file:// URL: no network needed.
if [[ -f $DEBIAN_PLUGINDIR/nbdkit-curl-plugin.so ]]; then
    same_view curl -r curl "file://$TEST_TMPDIR/disk.img"
fi

# qemu-img sees the same content through our server as in the file.
start_server_unix -r "$(debian_plugin file)" "$TEST_TMPDIR/disk.img"
qemu-img compare -f raw -F raw "$TEST_TMPDIR/disk.img" "$server_uri" >/dev/null ||
    fail "qemu-img compare: the file plugin's export differs from the file"
stop_server "$server_pid"

# Writes through Debian's memory plugin under our server.
start_server_unix "$(debian_plugin memory)" 1M
nbdsh -u "$server_uri" -c '
h.pwrite(b"abc" * 1000, 4096)
assert h.pread(3000, 4096) == b"abc" * 1000
h.zero(4096, 4096)
assert h.pread(4096, 4096) == bytes(4096)
h.flush()
'
stop_server "$server_pid"
echo "PASS"
