#!/usr/bin/env bash
# swab filter: 16, 32 and 64-bit swaps read and written, the size cut to
# whole words, unaligned requests refused; compared with Debian's nbdkit.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdcopy nbdinfo /usr/bin/python3

disk=$TEST_TMPDIR/disk
printf '01234567abcdefghABCDEFGH!' >"$disk"   # 25 bytes
same_output swab16 --filter=swab file "$disk" -- nbdcopy {} -
[[ $(cat "$TEST_TMPDIR/swab16.out") == 10325476badcfehgBADCFEHG ]] || fail "swab-bits=16: $(cat "$TEST_TMPDIR/swab16.out")"
same_output swab32 --filter=swab file "$disk" swab-bits=32 -- nbdcopy {} -
[[ $(cat "$TEST_TMPDIR/swab32.out") == 32107654dcbahgfeDCBAHGFE ]] || fail "swab-bits=32"
same_output swab64 --filter=swab file "$disk" swab-bits=64 -- nbdcopy {} -
[[ $(cat "$TEST_TMPDIR/swab64.out") == 76543210hgfedcbaHGFEDCBA ]] || fail "swab-bits=64"
same_output swab8 --filter=swab file "$disk" swab-bits=8 -- nbdcopy {} -
expect_same_file "swab-bits=8" "$TEST_TMPDIR/swab8.out" "$disk"

# A write is swapped on its way down: reading the file back gives it.
write_then_read() {
    /usr/bin/python3 - "$1" <<'PY'
import sys
import nbd
h = nbd.NBD()
h.connect_uri(sys.argv[1])
h.pwrite(b"wxyz", 8)
for offset, count in ((1, 2), (0, 3)):
    try:
        h.pread(count, offset)
        print("ok")
    except nbd.Error as e:
        print(e.errno)
h.shutdown()
PY
}
setup_each() { printf '01234567abcdefghABCDEFGH!' >"$disk"; }
same_output swab-write --filter=swab file "$disk" swab-bits=32 -- write_then_read {}
[[ $(head -c 12 "$disk") == 01234567zyxw ]] || fail "swab write: $(head -c 12 "$disk")"
[[ $(tr '\n' ' ' <"$TEST_TMPDIR/swab-write.out") == "EINVAL EINVAL " ]] || fail "unaligned requests"
for NBDKIT in $(compared_servers); do
    expect_bad_parameter "swab-bits" --filter=swab memory 1M swab-bits=24
done
