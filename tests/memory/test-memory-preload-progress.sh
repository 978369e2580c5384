#!/usr/bin/env bash
# preload=FILE reports its progress: with -v a debug line at each tenth of
# the image (also across holes) and a summary with bytes and time; on a
# terminal without -v a line redrawn in place and erased at the end;
# nothing otherwise.
. "$(dirname "$0")/functions.sh"

image=$TEST_TMPDIR/image.raw
truncate -s 40M "$image"
head -c 3000000 /dev/urandom | dd of="$image" bs=1M seek=2 conv=notrunc status=none
# Data near the end only after a long hole: the tenths in the hole still count.
head -c 100000 /dev/urandom | dd of="$image" bs=1M seek=39 conv=notrunc status=none

"$NBDKIT" -v -U - memory 64M preload="$image" --run true 2>"$TEST_TMPDIR/verbose.log" ||
  fail "preload failed: $(cat "$TEST_TMPDIR/verbose.log")"
grep -o 'preload: [0-9]*% ([0-9]* of 41943040 bytes)$' "$TEST_TMPDIR/verbose.log" |
  sed 's/ (.*//' >"$TEST_TMPDIR/tenths"
printf 'preload: %d%%\n' 10 20 30 40 50 60 70 80 90 100 >"$TEST_TMPDIR/expected"
diff -u "$TEST_TMPDIR/expected" "$TEST_TMPDIR/tenths" || fail "progress lines are not one per tenth"
grep -Eq "debug: preloaded $image: 41943040 bytes \([0-9]+ bytes of data\) in [0-9.]+ s, [0-9]+ MiB/s$" \
  "$TEST_TMPDIR/verbose.log" || fail "no summary: $(cat "$TEST_TMPDIR/verbose.log")"
data=$(sed -n 's/.*41943040 bytes (\([0-9]*\) bytes of data).*/\1/p' "$TEST_TMPDIR/verbose.log")
# 3 MB + 100 kB of random data, rounded to whole pages.
((data >= 3100000 && data <= 3300000)) || fail "summary counts $data bytes of data"

# Not a terminal, no -v: silent.
"$NBDKIT" -U - memory 64M preload="$image" --run true 2>"$TEST_TMPDIR/quiet.log"
[[ ! -s $TEST_TMPDIR/quiet.log ]] || fail "messages without -v: $(cat "$TEST_TMPDIR/quiet.log")"

# On a terminal (script(1) gives the server one): a line redrawn with \r,
# reaching 100%, then erased.
if command -v script >/dev/null; then
  script -qec "$NBDKIT -U - memory 64M preload=$image --run true" /dev/null >"$TEST_TMPDIR/tty.log" ||
    fail "preload on a terminal failed"
  grep -q $'\rnbdkit: memory: preloading .*: 100%' "$TEST_TMPDIR/tty.log" ||
    fail "no progress on the terminal: $(cat -v "$TEST_TMPDIR/tty.log")"
  [[ $(tail -c 4 "$TEST_TMPDIR/tty.log") == $'\r\e[K' ]] ||
    fail "the progress line is not erased: $(cat -v "$TEST_TMPDIR/tty.log")"
fi
echo "$0: PASS"
