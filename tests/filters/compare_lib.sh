# Helpers for the filter tests that run one command line against ours and
# Debian's nbdkit and compare what clients see.  Source after lib.sh.

# same_output NAME SERVER_ARGS... -- CLIENT...: for every server of
# compared_servers, runs setup_each (when the test defines it), starts the
# server with SERVER_ARGS, runs CLIENT with every "{}" replaced by the
# server's URI, and stops it.  The clients' outputs must all be equal;
# ours is left in $TEST_TMPDIR/NAME.out.
same_output() {
    local name=$1 ours=$NBDKIT i=0 arg
    shift
    local args=() client=()
    while [[ $1 != -- ]]; do args+=("$1"); shift; done
    shift
    for NBDKIT in $(compared_servers); do
        declare -F setup_each >/dev/null && setup_each
        start_server_unix "${args[@]}"
        client=()
        for arg in "$@"; do client+=("${arg//\{\}/$server_uri}"); done
        "${client[@]}" >"$TEST_TMPDIR/$name.out.$i" ||
            fail "$name: client failed against $NBDKIT: $*"
        stop_server "$server_pid"
        if ((i > 0)) && ! cmp -s "$TEST_TMPDIR/$name.out.0" "$TEST_TMPDIR/$name.out.$i"; then
            diff "$TEST_TMPDIR/$name.out.0" "$TEST_TMPDIR/$name.out.$i" | head -20 >&2 || true
            fail "$name: $NBDKIT gives other output than $ours"
        fi
        i=$((i + 1))
    done
    NBDKIT=$ours
    cp "$TEST_TMPDIR/$name.out.0" "$TEST_TMPDIR/$name.out"
}

# expect_same_file WHAT A B: files A and B are identical.
expect_same_file() {
    cmp -s "$2" "$3" || fail "$1: $2 and $3 differ"
}

# export_sum URI: the md5 of the whole export.
export_sum() {
    nbdcopy "$1" - | md5sum | cut -d' ' -f1
}

# open_fails WHAT TEXT SERVER_ARGS...: our server starts, but a client's
# connection is refused and the server's log says TEXT.
open_fails() {
    local what=$1 text=$2 n=${#test_server_pids[@]}
    shift 2
    start_server_unix "$@"
    nbdinfo "$server_uri" >/dev/null 2>&1 && fail "$what: the client got an export"
    stop_server "$server_pid"
    grep -qF -- "$text" "$TEST_TMPDIR/server-$n.log" ||
        fail "$what: no '$text' in: $(cat "$TEST_TMPDIR/server-$n.log")"
}
