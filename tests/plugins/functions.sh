# shellcheck shell=bash
# Sourced by the tests of the computed-content plugins (pattern, zero,
# ones, full, random, sparse-random, example1): the shared test helpers
# plus side-by-side checks against Debian's nbdkit.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

DEBIAN_NBDKIT=${DEBIAN_NBDKIT:-/usr/bin/nbdkit}
have_debian() { [[ -x $DEBIAN_NBDKIT ]]; }

# run_with SERVER ARGS... -- COMMAND: runs COMMAND (a shell string with
# "$uri") against SERVER serving ARGS on a private Unix socket.
run_with() {
    local server=$1
    shift
    local args=()
    while [[ $1 != -- ]]; do args+=("$1"); shift; done
    shift
    "$server" -U - "${args[@]}" --run "$1"
}

# same_info ARGS...: nbdinfo prints the same for ours and Debian's nbdkit
# serving ARGS (the URI, which names the socket, aside).  same_flags is
# the same without the map and file(1)'s guess at the content, for the
# plugins whose bytes differ from nbdkit's by design.
same_info() {
    have_debian || return 0
    compare_info 'nbdinfo "$uri" | grep -v "uri:"; nbdinfo --map "$uri"' "$@"
}
same_flags() {
    have_debian || return 0
    compare_info 'nbdinfo "$uri" | grep -Ev "uri:|content:"' "$@"
}
compare_info() {
    local cmd=$1
    shift
    run_with "$NBDKIT" "$@" -- "$cmd" >"$TEST_TMPDIR/ours.info"
    run_with "$DEBIAN_NBDKIT" "$@" -- "$cmd" >"$TEST_TMPDIR/debian.info"
    diff -u "$TEST_TMPDIR/debian.info" "$TEST_TMPDIR/ours.info" ||
        fail "nbdinfo differs from Debian's nbdkit for: $*"
}

# copy_out FILE ARGS...: the whole disk that ours serves with ARGS, into FILE.
copy_out() {
    local file=$1
    shift
    run_with "$NBDKIT" "$@" -- "nbdcopy \"\$uri\" $file"
}

# same_bytes ARGS...: ours and Debian's nbdkit serve the same bytes.
same_bytes() {
    have_debian || return 0
    copy_out "$TEST_TMPDIR/ours.img" "$@"
    run_with "$DEBIAN_NBDKIT" "$@" -- "nbdcopy \"\$uri\" $TEST_TMPDIR/debian.img"
    cmp "$TEST_TMPDIR/debian.img" "$TEST_TMPDIR/ours.img" ||
        fail "content differs from Debian's nbdkit for: $*"
    rm -f "$TEST_TMPDIR/debian.img" "$TEST_TMPDIR/ours.img"
}

# refused MESSAGE ARGS...: ours exits 1 on ARGS and says MESSAGE (a grep
# -E pattern) on stderr.
refused() {
    local message=$1 status=0
    shift
    "$NBDKIT" -U - "$@" --run true 2>"$TEST_TMPDIR/err" || status=$?
    ((status == 1)) || fail "exit status $status, not 1, for: $*"
    grep -Eq -- "$message" "$TEST_TMPDIR/err" ||
        { cat "$TEST_TMPDIR/err" >&2; fail "no '$message' for: $*"; }
}

# dump_has PLUGIN LINE...: --dump-plugin prints each LINE.
dump_has() {
    local plugin=$1 line
    shift
    "$NBDKIT" "$plugin" --dump-plugin >"$TEST_TMPDIR/dump"
    for line in "$@"; do
        grep -qx -- "$line" "$TEST_TMPDIR/dump" ||
            { cat "$TEST_TMPDIR/dump" >&2; fail "$plugin --dump-plugin lacks $line"; }
    done
}

# help_has PLUGIN PATTERN...: --help names each parameter.
help_has() {
    local plugin=$1 pattern
    shift
    "$NBDKIT" "$plugin" --help >"$TEST_TMPDIR/help"
    for pattern in "$@"; do
        grep -Eq -- "$pattern" "$TEST_TMPDIR/help" ||
            { cat "$TEST_TMPDIR/help" >&2; fail "$plugin --help lacks $pattern"; }
    done
}
