#!/usr/bin/env bash
# nbdkit random SIZE [seed=N]: the same bytes for the same seed, writes
# accepted only when they match, trim and zero refused (EIO); capabilities
# as Debian's nbdkit.  The bytes themselves differ from Debian's (another
# generator): only determinism is checked, as nbdkit's own tests do.
source "$(dirname "$0")/functions.sh"
require_commands nbdinfo nbdsh nbdcopy

same_flags random 1M seed=1

copy_out "$TEST_TMPDIR/a.img" random 3M seed=42
copy_out "$TEST_TMPDIR/b.img" random 3M seed=42
copy_out "$TEST_TMPDIR/c.img" random 3M seed=43
cmp "$TEST_TMPDIR/a.img" "$TEST_TMPDIR/b.img" || fail "seed=42 twice gave different disks"
cmp -s "$TEST_TMPDIR/a.img" "$TEST_TMPDIR/c.img" && fail "seeds 42 and 43 gave the same disk"
# Looks random: compresses to nothing less than itself.
if command -v gzip >/dev/null; then
    packed=$(gzip -c "$TEST_TMPDIR/a.img" | wc -c)
    ((packed > 3 * 1024 * 1024)) || fail "random data compressed to $packed bytes"
fi

start_server_unix random 1T seed=42
nbdsh -u "$server_uri" -c "
import errno
disk = open('$TEST_TMPDIR/a.img', 'rb').read()
assert h.get_size() == 1 << 40
assert not h.is_read_only()
# Any offset and length reads the same bytes as the whole-disk copy.
import random
rng = random.Random(7)
for _ in range(200):
    off = rng.randrange(len(disk))
    n = rng.randrange(1, min(20000, len(disk) - off) + 1)
    assert h.pread(n, off) == disk[off:off + n], (off, n)
# Writing back what is there succeeds; anything else is EIO.
h.pwrite(disk[4093:9000], 4093)
for f in (lambda: h.pwrite(b'x' * 512, 4096), lambda: h.zero(512, 0), lambda: h.trim(512, 0)):
    try:
        f()
        raise AssertionError('succeeded')
    except nbd.Error as e:
        assert e.errnum == errno.EIO, e.errnum
assert len(h.pread(4096, (1 << 40) - 4096)) == 4096
" || fail "random 1T"

# Copying the disk onto itself verifies every byte (the man page's test).
run_with "$NBDKIT" random 64M seed=5 -- 'nbdcopy "$uri" "$uri"' || fail "nbdcopy onto itself"

# No seed: a different disk each run.
copy_out "$TEST_TMPDIR/d.img" random 64k
copy_out "$TEST_TMPDIR/e.img" random 64k
cmp -s "$TEST_TMPDIR/d.img" "$TEST_TMPDIR/e.img" && fail "two unseeded runs gave the same disk"

refused "seed" random 1M seed=x
refused "seed" random 1M seed=-1
refused "seed" random 1M seed=4294967296
refused "unknown parameter 'foo'" random 1M foo=1
dump_has random name=random magic_config_key=size
help_has random '^size=<SIZE>' '^seed=<SEED>'
echo "$0: PASS"
