#!/usr/bin/env bash
# dir= and dirfd=: every regular file (or symbolic link to one) in the
# directory is an export, listed as Debian's nbdkit lists them; the client
# picks one by name.  fd=: a descriptor the test opens, read-write or
# read-only.
. "$(dirname "$0")/functions.sh"
require_commands nbdsh nbdinfo

dir=$TEST_TMPDIR/exports
mkdir "$dir" "$dir/subdir"
truncate -s 1M "$dir/small"
truncate -s 3M "$dir/big"
printf 'big!' | dd of="$dir/big" conv=notrunc status=none
ln -s big "$dir/link"
ln -s /nonexistent "$dir/dangling"
mkfifo "$dir/fifo"

# list_exports SERVER ARGS...: export names, sorted, one a line.
list_exports() {
  local server=$1
  shift
  "$server" -U - "$@" --run 'nbdinfo --list --json "$uri"' |
    /usr/bin/python3 -c '
import json, sys
for e in sorted(x["export-name"] for x in json.load(sys.stdin)["exports"]):
    print(e)'
}

list_exports "$NBDKIT" file dir="$dir" >"$TEST_TMPDIR/ours"
printf '%s\n' big link small | cmp - "$TEST_TMPDIR/ours" || fail "dir= lists: $(cat "$TEST_TMPDIR/ours")"
if [ -x "$REFERENCE_NBDKIT" ]; then
  list_exports "$REFERENCE_NBDKIT" file dir="$dir" >"$TEST_TMPDIR/reference"
  cmp "$TEST_TMPDIR/ours" "$TEST_TMPDIR/reference" || fail "Debian's nbdkit lists $(cat "$TEST_TMPDIR/reference")"
fi

start_server_unix file dir="$dir"
socket=$server_sock
[ "$(nbdinfo --size "nbd+unix:///small?socket=$socket")" = 1048576 ] || fail "small"
[ "$(nbdinfo --size "nbd+unix:///link?socket=$socket")" = 3145728 ] || fail "link"
nbdsh -u "nbd+unix:///big?socket=$socket" -c 'assert h.pread(4, 0) == b"big!"; h.pwrite(b"BIG", 0)'
[ "$(head -c 3 "$dir/big")" = BIG ] || fail "write through dir= did not reach the file"
# The default export, names with '/', directories, FIFOs and missing
# files are refused; the server goes on serving.
for name in '' subdir fifo dangling missing '..' 'subdir%2F..%2Fbig'; do
  if nbdinfo --size "nbd+unix:///$name?socket=$socket" >/dev/null 2>&1; then
    fail "export '$name' was served"
  fi
done
[ "$(nbdinfo --size "nbd+unix:///small?socket=$socket")" = 1048576 ] || fail "server stopped serving"
stop_server "$server_pid"

# -e names the export that $uri in --run points at.
size=$("$NBDKIT" -U - -e small file dir="$dir" --run 'nbdinfo --size "$uri"')
[ "$size" = 1048576 ] || fail "-e small: size $size"

# dirfd=: the same, from a directory descriptor the test opens.
exec 7<"$dir"
list_exports "$NBDKIT" file dirfd=7 >"$TEST_TMPDIR/ours-fd"
cmp "$TEST_TMPDIR/ours" "$TEST_TMPDIR/ours-fd" || fail "dirfd= lists $(cat "$TEST_TMPDIR/ours-fd")"
size=$("$NBDKIT" -U - -e link file dirfd=7 --run 'nbdinfo --size "$uri"')
[ "$size" = 3145728 ] || fail "dirfd=: size $size"
exec 7<&-

# fd= read-write: writes reach the file behind the descriptor.
exec 9<>"$dir/small"
start_server_unix file fd=9
nbdsh -u "$server_uri" -c 'assert not h.is_read_only(); h.pwrite(b"via fd", 4096)'
stop_server "$server_pid"
exec 9>&-
[ "$(dd if="$dir/small" bs=1 skip=4096 count=6 status=none)" = 'via fd' ] || fail "fd= write"

# fd= read-only: the export is read-only.
exec 9<"$dir/small"
start_server_unix file fd=9
nbdsh -u "$server_uri" -c 'assert h.is_read_only(); assert h.pread(6, 4096) == b"via fd"'
stop_server "$server_pid"
exec 9<&-
echo "$0: PASS"
