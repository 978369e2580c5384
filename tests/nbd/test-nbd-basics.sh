#!/usr/bin/env bash
# The nbd plugin forwards every command and flag to the upstream server and
# advertises what it offers: ours and Debian's nbdkit, in front of the same
# upstream, show the client the same export and the same bytes.
source "$(dirname "$0")/../lib/common.sh"
require_commands nbdsh nbdinfo /usr/bin/nbdkit

start_server_unix memory 64M
upstream=$server_sock

# Both proxies describe the export identically (URIs and the protocol line
# aside, which name the proxy's own socket).
describe() {
  "$1" -U - nbd socket="$upstream" --run 'nbdinfo "$uri"' |
    grep -vE '^\s*uri:|^protocol:'
}
diff -u <(describe /usr/bin/nbdkit) <(describe "$NBDKIT") || fail "nbdinfo differs"

start_server_unix nbd socket="$upstream"
proxy=$server_uri
nbdsh -u "$proxy" -c '
import os
data = os.urandom(1 << 20)
h.pwrite(data, 4096)
assert h.pread(1 << 20, 4096) == data
h.pwrite(b"x" * 512, 8 << 20, nbd.CMD_FLAG_FUA)
h.zero(1 << 20, 16 << 20)
h.zero(1 << 20, 18 << 20, nbd.CMD_FLAG_NO_HOLE)
h.zero(1 << 20, 20 << 20, nbd.CMD_FLAG_FAST_ZERO)
h.trim(1 << 20, 4096)
h.flush()
h.cache(1 << 20, 0)
assert h.pread(4096, 4096) == bytes(4096)
assert h.pread(512, 8 << 20) == b"x" * 512
'
# What the proxy wrote is in the upstream server, and block status passes
# through: the map seen through the proxy is the upstream's.
nbdsh -u "nbd+unix:///?socket=$upstream" -c 'assert h.pread(512, 8 << 20) == b"x" * 512'
diff -u <(nbdinfo --map "nbd+unix:///?socket=$upstream") <(nbdinfo --map "$proxy") ||
  fail "extents differ"
nbdinfo --map "$proxy" | grep -q hole || fail "no hole in the map"

# A read-only upstream makes a read-only proxy; -r on the proxy too.
start_server_unix -r memory 1M
nbdinfo "nbd+unix:///?socket=$server_sock" >/dev/null
"$NBDKIT" -U - nbd socket="$server_sock" --run 'nbdinfo "$uri"' | grep -q 'is_read_only: true' ||
  fail "read-only upstream not read-only"
"$NBDKIT" -r -U - nbd socket="$upstream" --run 'nbdinfo "$uri"' | grep -q 'is_read_only: true' ||
  fail "-r not read-only"
echo "$0: PASS"
