#!/usr/bin/env bash
# export= picks an upstream export; dynamic-export=true passes each
# client's export name on and lists the upstream's exports.
source "$(dirname "$0")/../lib/common.sh"
require_commands nbdsh nbdinfo

mkdir "$TEST_TMPDIR/dir"
printf 'AAAA%.0s' {1..1024} >"$TEST_TMPDIR/dir/a"
printf 'BBBB%.0s' {1..2048} >"$TEST_TMPDIR/dir/b"
start_server_unix file dir="$TEST_TMPDIR/dir"
upstream=$server_sock

"$NBDKIT" -U - nbd socket="$upstream" export=b --run 'nbdinfo --size "$uri"' | grep -qx 8192 ||
  fail "export=b"
"$NBDKIT" -U - nbd uri="nbd+unix:///a?socket=$upstream" --run 'nbdinfo --size "$uri"' |
  grep -qx 4096 || fail "export in the URI"

start_server_unix nbd socket="$upstream" dynamic-export=true
list=$(nbdinfo --list --json "$server_uri")
for name in a b; do
  grep -q "\"export-name\": \"$name\"" <<<"$list" || fail "export $name not listed: $list"
done
nbdsh -u "nbd+unix:///b?socket=$server_sock" -c 'assert h.pread(4, 0) == b"BBBB"'
nbdsh -u "nbd+unix:///a?socket=$server_sock" -c 'assert h.pread(4, 0) == b"AAAA"'
echo "$0: PASS"
