# shellcheck shell=bash
# Helpers shared by the streaming plugin's tests.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

cd "$TEST_TMPDIR"

# make_image FILE MIB: a raw image with random data, holes and a zero run,
# ending in data so that every client copies all of it.
make_image() {
    local file=$1 mib=$2 at
    truncate -s "${mib}M" "$file"
    for at in 0 1 $((mib / 2)) $((mib - 1)); do
        head -c 300000 /dev/urandom | dd of="$file" bs=1M seek="$at" conv=notrunc status=none
    done
    dd if=/dev/zero of="$file" bs=1M seek=2 count=1 conv=notrunc status=none
    head -c 4096 /dev/urandom | dd of="$file" bs=4096 seek=$((mib * 256 - 1)) conv=notrunc status=none
}

# start_background NAME COMMAND...: runs COMMAND in the background (at most
# 120 s), killed by PID when the test exits.  Sets background_pid.
start_background() {
    local name=$1
    shift
    timeout 120 "$@" 2>"$TEST_TMPDIR/$name.log" &
    background_pid=$!
    on_exit "kill $background_pid 2>/dev/null; wait $background_pid 2>/dev/null"
}

# wait_background PID WHAT: waits for PID and fails unless it succeeded.
wait_background() {
    wait "$1" || fail "$2 failed (exit status $?)"
}

# same_content A B: fails unless the two files are byte for byte equal.
same_content() {
    cmp "$1" "$2" || fail "$2 differs from $1"
}

# expect_in_log FILE PATTERN: fails unless FILE contains PATTERN (grep -E).
expect_in_log() {
    grep -Eq -- "$2" "$1" || {
        cat "$1" >&2
        fail "expected /$2/ in $1"
    }
}
