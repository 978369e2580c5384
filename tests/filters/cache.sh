#!/usr/bin/env bash
# cache filter: the bytes a client reads back through the cache over the
# memory and file plugins, in each mode, compared with Debian's nbdkit
# (and the files left behind compared with qemu-img compare); when writes
# reach the file (writeback: at flush, writethrough: at once, unsafe:
# never); cache-on-read counted with the log filter below the cache;
# cache-max-size bounding the temporary file without losing dirty data;
# many parallel writers; extents; bad parameters.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
ours=$NBDKIT
require_commands nbdcopy nbdinfo qemu-img /usr/bin/python3

# 300000 bytes: not a multiple of the 64 KiB block.  Data, hole, data.
pristine=$TEST_TMPDIR/pristine
head -c 100000 /dev/urandom >"$pristine"
truncate -s 200000 "$pristine"
head -c 100000 /dev/urandom >>"$pristine"
disk=$TEST_TMPDIR/disk
setup_each() { cp "$pristine" "$disk"; }

# Requests of every kind, aligned or not, then the whole disk read back,
# on one connection; prints the md5 of what it read.
edits() {
    /usr/bin/python3 - "$1" <<'PY'
import hashlib, sys
import nbd
h = nbd.NBD()
h.connect_uri(sys.argv[1])
size = h.get_size()
first = h.pread(size, 0)
h.pwrite(b"A" * 5000, 1000)                   # inside the first block
h.pwrite(b"B" * 140000, 60000)                # across three blocks
h.pwrite(b"C" * 3000, size - 3000)            # the short final block
h.pwrite(b"F" * 4096, 8192, nbd.CMD_FLAG_FUA)
h.zero(70000, 131072)                         # whole blocks and an edge
h.zero(7, 100)                                # tiny
h.zero(size - 65536 * 4, 65536 * 4)           # to the end
h.pwrite(b"D" * 10, 65540)
# Trimmed bytes may read as anything: each trim is written over again.
h.trim(65536, 196608)                         # a whole block
h.pwrite(b"T" * 65536, 196608)
h.trim(1000, 20000)                           # part of a dirty block
h.pwrite(b"U" * 1000, 20000)
h.cache(size, 0)
h.flush()
data = h.pread(size, 0)
print(size, hashlib.md5(first).hexdigest(), hashlib.md5(data).hexdigest())
h.shutdown()
PY
}
for mode in writeback writethrough unsafe; do
    same_output "cache-$mode" --filter=cache file "$disk" cache=$mode -- edits {}
done
same_output cache-memory --filter=cache memory 300000 -- edits {}
same_output cache-on-read --filter=cache file "$disk" cache-on-read=true -- edits {}
same_output cache-small-blocks --filter=cache file "$disk" cache-min-block-size=4k -- edits {}
expect_same_file "block size 4k and 64k" "$TEST_TMPDIR/cache-writeback.out" "$TEST_TMPDIR/cache-small-blocks.out"

# The files both servers leave behind after the edits and a flush.
results=()
for NBDKIT in $(compared_servers); do
    result=$TEST_TMPDIR/result-${#results[@]}.img
    cp "$pristine" "$result"
    start_server_unix --filter=cache file "$result"
    edits "$server_uri" >/dev/null || fail "edits failed against $NBDKIT"
    stop_server "$server_pid"
    results+=("$result")
done
NBDKIT=$ours
if ((${#results[@]} == 2)); then
    qemu-img compare -f raw -F raw "${results[@]}" >/dev/null ||
        fail "the files written through ours and Debian's cache differ"
fi

# When written data reaches the file.  file_sum: the md5 of the file.
file_sum() { md5sum <"$disk" | cut -d' ' -f1; }
for NBDKIT in $(compared_servers); do
    for mode in writeback writethrough unsafe; do
        setup_each
        before=$(file_sum)
        start_server_unix --filter=cache file "$disk" cache=$mode
        expect_ops "$NBDKIT $mode write" "ok" "$server_uri" fill:4096:8192:61
        after_write=$(file_sum)
        expect_ops "$NBDKIT $mode flush" "ok" "$server_uri" flush
        after_flush=$(file_sum)
        case $mode in
            writeback) [[ $after_write == "$before" && $after_flush != "$before" ]] ;;
            writethrough) [[ $after_write != "$before" ]] ;;
            unsafe) [[ $after_flush == "$before" ]] ;;
        esac || fail "$NBDKIT cache=$mode: the file's content at the wrong time"
        # A FUA write goes through at once, except with cache=unsafe.
        expect_ops "$NBDKIT $mode FUA write" "ok" "$server_uri" write:131072:512:fua
        fua_written=yes
        [[ $(file_sum) == "$after_flush" ]] && fua_written=no
        [[ $fua_written == "$([[ $mode == unsafe ]] && echo no || echo yes)" ]] ||
            fail "$NBDKIT cache=$mode: FUA write reached the file: $fua_written"
        stop_server "$server_pid"
        [[ $mode != unsafe || $(file_sum) == "$before" ]] ||
            fail "$NBDKIT cache=unsafe wrote to the file"
    done
done
NBDKIT=$ours

# cache-on-read: the plugin (seen by the log filter below the cache) is
# read once for two reads; without it, twice; with /PATH, while it exists.
# expect_reads WHAT BYTES ARGS... -- OPS...: the plugin was asked to read
# BYTES in all (nbdkit reads several blocks at once where ours reads
# block by block: bytes are what both share).  (Not in
# a $(...) subshell: the server it starts must be known to the test.)
expect_reads() {
    local what=$1 expected=$2 args=() log=$TEST_TMPDIR/reads.log got count
    shift 2
    while [[ $1 != -- ]]; do args+=("$1"); shift; done
    shift
    rm -f "$log"
    start_server_unix --filter=cache --filter=log memory 1M logfile="$log" "${args[@]}"
    nbd_ops "$server_uri" "$@" >/dev/null
    stop_server "$server_pid"
    got=0
    for count in $(grep -o " Read id=.* count=0x[0-9a-f]*" "$log" | sed 's/.*count=//'); do
        got=$((got + count))
    done
    ((got == expected)) || fail "$NBDKIT: $what: $got bytes read from the plugin, expected $expected"
}
twice=(read:0:131072 read:0:131072)
flag=$TEST_TMPDIR/flag
for NBDKIT in $(compared_servers); do
    expect_reads "without cache-on-read" 262144 -- "${twice[@]}"
    expect_reads "cache-on-read=true" 131072 cache-on-read=true -- "${twice[@]}"
    expect_reads "cache-on-read=true, a block read again" 131072 cache-on-read=true -- read:0:65536 "${twice[@]}"
    expect_reads "cache-on-read=/PATH without the file" 262144 cache-on-read="$flag" -- "${twice[@]}"
    touch "$flag"
    expect_reads "cache-on-read=/PATH with the file" 131072 cache-on-read="$flag" -- "${twice[@]}" read:0:65536
    rm "$flag"
    # A cache (prefetch) request fills the cache: the read after it is free.
    expect_reads "cache request" 131072 -- cache:0:131072 read:0:131072
done
NBDKIT=$ours

# cache-max-size (ours): 16 MiB written in writeback mode through a cache
# of at most 2 MiB; the temporary file stays within it, and no dirty
# block is lost (nbdkit 1.32 drops dirty blocks here: not compared).
# cache_file_kib PID: the allocated KiB of the server's cache file.
cache_file_kib() {
    local fd
    for fd in /proc/"$1"/fd/*; do
        if [[ $(readlink "$fd") == *nbdkit-cache-*deleted* ]]; then
            echo $(($(stat -L -c '%b * %B' "$fd") / 1024))
            return
        fi
    done
    fail "no cache file open in server $1"
}
head -c 16M /dev/urandom >"$TEST_TMPDIR/source"
source_sum=$(md5sum <"$TEST_TMPDIR/source" | cut -d' ' -f1)
truncate -s 32M "$disk"
start_server_unix --filter=cache file "$disk" cache-max-size=2M cache-min-block-size=4k
nbdcopy --connections=4 --requests=16 --request-size=65536 "$TEST_TMPDIR/source" "$server_uri"
kib=$(cache_file_kib "$server_pid")
((kib <= 2048 + 64)) || fail "cache-max-size=2M: the cache file holds $kib KiB"
[[ $(nbd_ops "$server_uri" md5:0:16777216) == "$source_sum" ]] ||
    fail "cache-max-size: data lost"
kib=$(cache_file_kib "$server_pid")
((kib <= 2048 + 64)) || fail "cache-max-size=2M: after reading back, the cache file holds $kib KiB"
expect_ops "flush" ok "$server_uri" flush
stop_server "$server_pid"
cmp -s -n 16777216 "$disk" "$TEST_TMPDIR/source" || fail "cache-max-size: the file after flush"

# Parallel writers over one cache, 4k requests in 64k blocks (partial
# writes racing on each block), with reclaim going on (ours: nbdkit 1.32
# loses data past cache-max-size), in each mode: the bytes read back.
for NBDKIT in $(compared_servers); do
    for mode in writeback writethrough; do
        limit=()
        [[ $NBDKIT == "$ours" ]] && limit=(cache-max-size=1M)
        truncate -s 0 "$disk"
        truncate -s 16M "$disk"
        start_server_unix --filter=cache file "$disk" cache=$mode "${limit[@]}"
        nbdcopy --connections=4 --requests=32 --request-size=4096 "$TEST_TMPDIR/source" "$server_uri"
        [[ $(nbd_ops "$server_uri" md5:0:16777216) == "$source_sum" ]] ||
            fail "$NBDKIT cache=$mode: parallel writes read back wrong"
        # nbdcopy skips what extents call holes: nbdkit 1.32 reports the
        # file's holes under dirty blocks, and nbdcopy reads zeroes there.
        if [[ $NBDKIT == "$ours" ]]; then
            [[ $(export_sum "$server_uri") == "$source_sum" ]] || fail "cache=$mode: nbdcopy read back wrong"
        fi
        stop_server "$server_pid"
    done
done
NBDKIT=$ours

# Extents (ours): a dirty block is data, though the file still has a hole.
start_server_unix --filter=cache file "$pristine"
nbd_ops "$server_uri" write:131072:512 >/dev/null
nbdinfo --map "$server_uri" | grep -q "^ *131072 .*data" ||
    fail "cache extents: the dirty block: $(nbdinfo --map "$server_uri")"
stop_server "$server_pid"

# The keys nbdkit shows, and bad values.
"$NBDKIT" --filter=cache memory 1M --help | grep -q "cache-max-size=SIZE" || fail "--help"
expect_bad_parameter "cache mode" --filter=cache memory 1M cache=sometimes
expect_bad_parameter "cache-min-block-size" --filter=cache memory 1M cache-min-block-size=1000
expect_bad_parameter "cache-min-block-size" --filter=cache memory 1M cache-min-block-size=2k
expect_bad_parameter "cache-max-size is too small" --filter=cache memory 1M cache-max-size=1023k
expect_bad_parameter "cache-high-threshold must be greater than zero" --filter=cache memory 1M cache-high-threshold=0
expect_bad_parameter "cache-low-threshold must be less than cache-high-threshold" \
    --filter=cache memory 1M cache-max-size=1M cache-low-threshold=60 cache-high-threshold=50
expect_bad_parameter "cache-on-read" --filter=cache memory 1M cache-on-read=maybe
