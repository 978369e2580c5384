#!/usr/bin/env bash
# partition filter: MBR primary and logical partitions, GPT, with sfdisk
# making the tables; each partition's bytes checked, and compared with
# Debian's nbdkit.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
ours=$NBDKIT
require_commands nbdcopy nbdinfo sfdisk

# make_disk FILE SCRIPT: a 16 MiB disk with the sfdisk SCRIPT's table and
# each partition filled with its own random bytes.
make_disk() {
    truncate -s 16M "$1"
    sfdisk -q "$1" <<<"$2" >/dev/null
    head -c 15M /dev/urandom | dd of="$1" bs=1M seek=1 conv=notrunc status=none
    # The random fill overwrote the extended boot records: write the
    # table again (sfdisk only touches its own sectors).
    sfdisk -q "$1" <<<"$2" >/dev/null
}

# check_partition DISK N: the partition's bytes as sfdisk places them.
check_partition() {
    local disk=$1 n=$2 start size
    read -r start size < <(sfdisk -d "$disk" | awk -v dev="$disk$n" \
        '$1 == dev { gsub(",", ""); print $4, $6 }')
    same_output "part$n" --filter=partition file "$disk" partition="$n" -- nbdcopy {} -
    expect_same_file "partition $n of $disk" "$TEST_TMPDIR/part$n.out" \
        <(dd if="$disk" bs=512 skip="$start" count="$size" status=none)
}

mbr=$TEST_TMPDIR/mbr.img
make_disk "$mbr" "label: dos
start=2048, size=4096, type=83
start=6144, size=2048, type=83
start=8192, size=16384, type=5
start=10240, size=4096, type=83
start=16384, size=2048, type=83
start=24576, size=4096, type=83"
for n in 1 2 4 5 6; do check_partition "$mbr" "$n"; done
same_output mbr-map --filter=partition file "$mbr" partition=5 -- nbdinfo --size {}

gpt=$TEST_TMPDIR/gpt.img
make_disk "$gpt" "label: gpt
start=2048, size=4096
start=6144, size=8192
start=20480, size=2048"
for n in 1 2 3; do check_partition "$gpt" "$n"; done

# Writes stay inside the partition.
same_output part-write --filter=partition file "$gpt" partition=2 -- nbd_ops {} write:0:512
cmp -s <(dd if="$gpt" bs=512 skip=6144 count=1 status=none) <(head -c 512 /dev/zero | tr '\0' Z) ||
    fail "the write did not land at the start of partition 2"

for NBDKIT in $(compared_servers); do
    open_fails "$NBDKIT unused GPT entry" "partition" --filter=partition file "$gpt" partition=4
    open_fails "$NBDKIT missing logical partition" "partition" \
        --filter=partition file "$mbr" partition=9
    open_fails "$NBDKIT no table" "partition" --filter=partition memory 1M partition=1
    expect_bad_parameter "partition" --filter=partition memory 1M
done
NBDKIT=$ours

# Ours only (later nbdkit): a GPT on a disk with 4 KiB sectors.
gpt4k=$TEST_TMPDIR/gpt4k.img
# sfdisk keeps a file's 512-byte sectors: write the table by hand (a
# protective MBR, the header at LBA 1, entry 1 = LBA 256..1279).
/usr/bin/python3 - "$gpt4k" <<'PY'
import struct, sys
with open(sys.argv[1], "wb") as f:
    f.truncate(16 << 20)
    f.seek(446)
    f.write(struct.pack("<B3sB3sII", 0, b"", 0xEE, b"", 1, 4095) + bytes(48) + b"\x55\xaa")
    f.seek(4096)
    f.write(b"EFI PART" + struct.pack("<IIIIQQQQ16sQII", 0x10000, 92, 0, 0, 1, 4095, 6, 4090,
                                     bytes(16), 2, 128, 128))
    f.seek(2 * 4096)
    f.write(b"\x11" * 16 + b"\x22" * 16 + struct.pack("<QQ", 256, 1279))
PY
head -c 4M /dev/urandom | dd of="$gpt4k" bs=4096 seek=256 count=1024 conv=notrunc status=none
start_server_unix --filter=partition file "$gpt4k" partition=1 partition-sectorsize=4k
nbdcopy "$server_uri" "$TEST_TMPDIR/p4k"
stop_server "$server_pid"
expect_same_file "4k GPT" "$TEST_TMPDIR/p4k" <(dd if="$gpt4k" bs=4096 skip=256 count=1024 status=none)
expect_bad_parameter "partition-sectorsize" --filter=partition memory 1M partition=1 \
    partition-sectorsize=1000
