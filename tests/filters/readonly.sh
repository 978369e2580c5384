#!/usr/bin/env bash
# readonly filter (nbdkit >= 1.38; Debian's 1.32.5 lacks it): without
# readonly-file= the export has the flags of Debian's "nbdkit -r" and
# answers writes, zeroes and trims with EPERM; with readonly-file=PATH the
# export is writable and requests fail with EPERM exactly while PATH
# exists, checked per request on a connection that stays open.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdinfo nbdsh /usr/bin/python3

# Same export flags as nbdkit -r, which Debian's nbdkit has.
start_server_unix --filter=readonly memory 1M
ours=$(CAPS_FIELDS="can_|is_read_only" export_caps "$server_uri")
stop_server "$server_pid"
if [[ -x /usr/bin/nbdkit && $NBDKIT != /usr/bin/nbdkit ]]; then
    NBDKIT=/usr/bin/nbdkit start_server_unix -r memory 1M
    debian=$(CAPS_FIELDS="can_|is_read_only" export_caps "$server_uri")
    stop_server "$server_pid"
    [[ $ours == "$debian" ]] || fail "flags differ from nbdkit -r"$'\n'"ours: $ours"$'\n'"-r: $debian"
fi
grep -qx '"is_read_only":true' <<<"$ours" || fail "not read-only: $ours"

# A client that sends the requests anyway gets EPERM from the server.
start_server_unix --filter=readonly memory 1M
NBD_OPS_LAX=1 expect_ops "always read-only" "ok EPERM EPERM EPERM ok" "$server_uri" \
    read:0:512 write:0:512 zero:0:512 trim:0:512 flush
stop_server "$server_pid"

# The layers below are opened read-only: a file without write permission
# is served (the file plugin would otherwise open it for writing).
truncate -s 1M "$TEST_TMPDIR/ro.img"
chmod a-w "$TEST_TMPDIR/ro.img"
if [[ ! -w $TEST_TMPDIR/ro.img ]]; then  # not when running as root
    start_server_unix --filter=readonly file "$TEST_TMPDIR/ro.img"
    expect_ops "read-only file" "ok" "$server_uri" read:0:4096
    stop_server "$server_pid"
fi

# readonly-file: one connection, the file created and removed between
# requests.  The export is writable even while the file exists.
flag=$TEST_TMPDIR/ro-flag
touch "$flag"
start_server_unix --filter=readonly memory 1M readonly-file="$flag"
expect_nbdinfo "$server_uri" "is_read_only: false"
result=$(READONLY_FLAG=$flag nbdsh -u "$server_uri" -c '
import os
flag = os.environ["READONLY_FLAG"]
def attempt(request):
    try:
        request()
        return "ok"
    except nbd.Error as e:
        return e.errno or "error"
answers = []
for step in ("present", "absent", "present"):
    if step == "present":
        open(flag, "w").close()
    else:
        os.remove(flag)
    answers.append(attempt(lambda: h.pwrite(b"\x5a" * 512, 0)))
    answers.append(attempt(lambda: h.zero(512, 4096)))
    answers.append(attempt(lambda: h.trim(512, 8192)))
    answers.append(attempt(lambda: h.flush()))
print(" ".join(answers))
print(h.pread(1, 0).hex(), h.pread(1, 700000).hex())
')
expected="EPERM EPERM EPERM ok ok ok ok ok EPERM EPERM EPERM ok"
[[ $(head -1 <<<"$result") == "$expected" ]] || fail "readonly-file: got '$result', expected '$expected'"
[[ $(tail -1 <<<"$result") == "5a 00" ]] || fail "the write while writable was lost: $result"
stop_server "$server_pid"

# A relative readonly-file is relative to where nbdkit was started.
rm -f "$flag"
cd "$TEST_TMPDIR"
start_server_unix --filter=readonly memory 1M readonly-file=ro-flag
cd - >/dev/null
expect_ops "relative path, absent" "ok" "$server_uri" write:0:512
touch "$flag"
expect_ops "relative path, present" "EPERM" "$server_uri" write:0:512
stop_server "$server_pid"

expect_bad_parameter "more than once" --filter=readonly memory 1M readonly-file=a readonly-file=b
