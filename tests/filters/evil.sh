#!/usr/bin/env bash
# evil filter (nbdkit >= 1.36; Debian's 1.32.5 lacks it): over the ones
# plugin (every bit 1), reads are corrupted at about the rate asked for,
# the same way for the same seed, never with probability 0; stuck bits
# stay put across reads, stuck wires follow the buffer, cosmic rays do
# not repeat; holes are left alone; writes are not touched.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
require_commands nbdsh /usr/bin/python3

# evil_reads ARGS... -- READ...: starts "--filter=evil ARGS" and sets
# $reads to one line per READ (OFFSET:LENGTH): the md5 of the data and how
# many of its bits are 0.  (Not in a $(...) subshell: the server would be
# unknown to the cleanup.)
evil_reads() {
    local args=()
    while [[ $1 != -- ]]; do args+=("$1"); shift; done
    shift
    start_server_unix --filter=evil "${args[@]}"
    reads=$(READS="$*" nbdsh -u "$server_uri" -c '
import hashlib, os
for read in os.environ["READS"].split():
    offset, length = (int(x, 0) for x in read.split(":"))
    data = h.pread(length, offset)
    zeroes = length * 8 - int.from_bytes(data, "little").bit_count()
    print(hashlib.md5(data).hexdigest(), zeroes)
')
    stop_server "$server_pid"
}

# expect_about WHAT GOT EXPECTED: GOT within 10% of EXPECTED.
expect_about() {
    echo "$1: $2 (expected $3)" >&2
    (($2 * 10 >= $3 * 9 && $2 * 10 <= $3 * 11)) || fail "$1: $2 bits, expected about $3"
}

mib=1048576 bits=$((8 * 1048576))

# Probability 0: nothing changes.
for mode in cosmic-rays stuck-bits stuck-wires; do
    evil_reads ones 1M evil=$mode evil-probability=0 -- 0:$mib
    got=$reads
    [[ ${got#* } == 0 ]] || fail "$mode with probability 0 changed $got bits"
done

# Cosmic rays flip 1% of the bits read; the same seed flips the same bits
# in a new server, another seed other bits, and a second read of the same
# range flips others.
evil_reads ones 1M evil=cosmic-rays evil-probability=1% evil-seed=7 -- 0:$mib 0:$mib
a=$reads
evil_reads ones 1M evil=cosmic-rays evil-probability=1:100 evil-seed=7 -- 0:$mib 0:$mib
b=$reads
evil_reads ones 1M evil=cosmic-rays evil-probability=0.01 evil-seed=8 -- 0:$mib
c=$reads
[[ $a == "$b" ]] || fail "cosmic-rays: the same seed gave other data"$'\n'"$a"$'\n'"$b"
[[ $(head -1 <<<"$a") != "$c" ]] || fail "cosmic-rays: another seed gave the same data"
[[ $(head -1 <<<"$a") != $(tail -1 <<<"$a") ]] || fail "cosmic-rays: two reads flipped the same bits"
expect_about "cosmic-rays at 1%" "$(head -1 <<<"$a" | cut -d' ' -f2)" $((bits / 100))

# Stuck bits: 2% of the bits are stuck, half of them low, so 1% read as
# 0; the same on every read, including a read that overlaps the first
# one, and the same for the same seed in another server.
evil_reads ones 1M evil=stuck-bits evil-probability=2% evil-seed=3 -- 0:$mib 0:$mib 4096:4096
a=$reads
evil_reads ones 1M evil-probability=2% evil-seed=3 -- 4096:4096
b=$reads
[[ $(sed -n 1p <<<"$a") == $(sed -n 2p <<<"$a") ]] || fail "stuck-bits moved between reads"
[[ $(sed -n 3p <<<"$a") == "$b" ]] || fail "stuck-bits: not the same bits for the same seed"
expect_about "stuck-bits at 2%" "$(head -1 <<<"$a" | cut -d' ' -f2)" $((bits / 100))
# The bytes 4096..8191 of the first read are those of the third.
start_server_unix --filter=evil ones 1M evil-probability=2% evil-seed=3
sub=$(nbdsh -u "$server_uri" -c '
import hashlib
print(hashlib.md5(h.pread(1048576, 0)[4096:8192]).hexdigest())')
stop_server "$server_pid"
[[ $sub == $(sed -n 3p <<<"$a" | cut -d' ' -f1) ]] || fail "stuck-bits depend on the read's offset"

# evil-stuck-probability=50%: a stuck bit shows half the time.
evil_reads ones 1M evil=stuck-bits evil-probability=2% evil-stuck-probability=50% \
    evil-seed=3 -- 0:$mib 0:$mib
a=$reads
expect_about "stuck-bits showing half the time" "$(head -1 <<<"$a" | cut -d' ' -f2)" $((bits / 200))
[[ $(sed -n 1p <<<"$a") != $(sed -n 2p <<<"$a") ]] || fail "stuck bits showing at 50% read the same twice"

# Stuck wires: the same positions of every buffer, wherever it reads.
evil_reads ones 1M evil=stuck-wires evil-probability=2% evil-seed=5 -- 0:65536 131072:65536 999:65536
a=$reads
[[ $(sed -n 1p <<<"$a") == $(sed -n 2p <<<"$a") && $(sed -n 1p <<<"$a") == $(sed -n 3p <<<"$a") ]] ||
    fail "stuck-wires: buffers differ"$'\n'"$a"
expect_about "stuck-wires at 2%" "$(head -1 <<<"$a" | cut -d' ' -f2)" $((65536 * 8 / 100))

# Holes are left alone (memory is all hole), unless noextents hides them.
zeroes_md5=$(head -c $mib /dev/zero | md5sum | cut -d' ' -f1)
evil_reads memory 1M evil=cosmic-rays evil-probability=10% -- 0:$mib
got=$reads
[[ ${got% *} == "$zeroes_md5" ]] || fail "a hole was corrupted"
evil_reads --filter=noextents memory 1M evil=cosmic-rays evil-probability=10% -- 0:$mib
got=$reads
[[ ${got% *} != "$zeroes_md5" ]] || fail "with noextents below, nothing was corrupted"

# Writes reach the plugin unchanged (read back without the filter's help:
# probability 0 on the same memory is not possible, so via a file).
truncate -s 1M "$TEST_TMPDIR/disk"
start_server_unix --filter=evil file "$TEST_TMPDIR/disk" evil=cosmic-rays evil-probability=1
nbdsh -u "$server_uri" -c 'h.pwrite(b"\x0f" * 65536, 0)'
stop_server "$server_pid"
[[ $(head -c 65536 "$TEST_TMPDIR/disk" | tr -d '\017' | wc -c) == 0 ]] || fail "the write was changed"

expect_bad_parameter "unknown evil 'x'" --filter=evil memory 1M evil=x
expect_bad_parameter "evil-probability" --filter=evil memory 1M evil-probability=2
expect_bad_parameter "evil-stuck-probability" --filter=evil memory 1M evil-stuck-probability=-1
expect_bad_parameter "evil-seed" --filter=evil memory 1M evil-seed=x
