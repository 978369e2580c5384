#!/bin/bash
# nbdsh (libnbd's Python shell) against the memory plugin over a Unix
# socket and TCP: every command round trips, with data checked byte for
# byte, plus block status after zero/trim and a second connection seeing
# the first one's writes (memory is multi-conn).
source "$(dirname "$0")/../lib/common.sh"
require_commands nbdsh

for transport in unix tcp; do
    start_server "$transport" memory 64M
    nbdsh --base-allocation -u "$server_uri" -c "uri = '$server_uri'" -c '
import os

MiB = 1 << 20
assert h.get_size() == 64 * MiB
for can in (h.can_cache, h.can_df, h.can_fast_zero, h.can_flush, h.can_fua,
            h.can_multi_conn, h.can_trim, h.can_zero):
    assert can(), can.__name__
assert not h.is_read_only()
assert h.can_meta_context(nbd.CONTEXT_BASE_ALLOCATION)

# A fresh disk reads as zeroes.
assert h.pread(MiB, 5 * MiB) == bytes(MiB)

data = os.urandom(4 * MiB)
h.pwrite(data, 8 * MiB)
assert h.pread(4 * MiB, 8 * MiB) == data

# Unaligned writes crossing the 32 KiB pages of the memory plugin.
small = os.urandom(70000)
h.pwrite(small, 20 * MiB + 12345)
assert h.pread(70000, 20 * MiB + 12345) == small
assert h.pread(12345, 20 * MiB) == bytes(12345)

h.pwrite(data[:MiB], 30 * MiB, nbd.CMD_FLAG_FUA)
h.flush()
assert h.pread(MiB, 30 * MiB) == data[:MiB]

# Zero and trim in the middle of the data, read back around them.
h.zero(256 * 1024, 8 * MiB + 256 * 1024)
h.zero(64 * 1024, 9 * MiB, nbd.CMD_FLAG_FAST_ZERO)
h.zero(64 * 1024, 9 * MiB + 512 * 1024, nbd.CMD_FLAG_NO_HOLE)
h.trim(MiB, 10 * MiB)
expected = bytearray(data)
expected[256 * 1024:512 * 1024] = bytes(256 * 1024)
expected[MiB:MiB + 64 * 1024] = bytes(64 * 1024)
expected[MiB + 512 * 1024:MiB + 576 * 1024] = bytes(64 * 1024)
expected[2 * MiB:3 * MiB] = bytes(MiB)  # trimmed memory reads as zeroes
assert h.pread(4 * MiB, 8 * MiB) == bytes(expected)

h.cache(4 * MiB, 8 * MiB)

# Block status: collect (offset, length, flags) over the whole disk.
extents = []
def collect(context, offset, entries, err):
    assert context == nbd.CONTEXT_BASE_ALLOCATION, context
    for i in range(0, len(entries), 2):
        extents.append((offset, entries[i], entries[i + 1]))
        offset += entries[i]
    return 0
offset = 0
while offset < h.get_size():
    before = len(extents)
    h.block_status(h.get_size() - offset, offset, collect)
    assert len(extents) > before
    offset = extents[-1][0] + extents[-1][1]
assert offset == h.get_size(), offset

def flags_at(where):
    for start, length, flags in extents:
        if start <= where < start + length:
            return flags
    raise AssertionError(where)
HOLE_ZERO = nbd.STATE_HOLE | nbd.STATE_ZERO
assert flags_at(0) == HOLE_ZERO
assert flags_at(63 * MiB) == HOLE_ZERO
assert flags_at(8 * MiB) & nbd.STATE_HOLE == 0
assert flags_at(11 * MiB) & nbd.STATE_HOLE == 0
assert flags_at(8 * MiB + 256 * 1024) & nbd.STATE_ZERO
assert flags_at(10 * MiB) & nbd.STATE_ZERO

# Single-extent replies when asked for.
single = []
h.block_status(MiB, 8 * MiB,
               lambda c, o, e, err: single.append(list(e)) or 0,
               nbd.CMD_FLAG_REQ_ONE)
assert len(single) == 1 and len(single[0]) == 2, single

# A second connection sees the writes of the first.
other = nbd.NBD()
other.connect_uri(uri)
assert other.pread(MiB, 30 * MiB) == data[:MiB]
other.pwrite(b"second", 40 * MiB)
other.flush()
other.shutdown()
assert h.pread(6, 40 * MiB) == b"second"

# A large request: 32 MiB, half the 64 MiB limit nbdkit accepts.
big = os.urandom(32 * MiB)
h.pwrite(big, 32 * MiB)
assert h.pread(32 * MiB, 32 * MiB) == big
h.shutdown()
'
    stop_server "$server_pid"
done

echo "PASS"
