# Cross-checks against Debian's nbdkit for filter tests; source after
# lib.sh.  Each helper starts every server of compared_servers with the
# same command line and runs the same client against it: same_answers,
# same_caps and same_ops compare answers to a check command or nbd_ops.py
# operations, same_output compares the outputs of any client command.

# export_caps URI: the export's size, flags and block sizes, one per line;
# only the fields matching the regular expression $CAPS_FIELDS when set
# (the plugins themselves differ in some).
export_caps() {
    nbdinfo --json --no-content "$1" |
        grep -E '"(can_[a-z_]+|is_read_only|block_size_[a-z]+|export-size)"' | tr -d '\t ,' |
        { grep -E "${CAPS_FIELDS:-.}" || true; }
}

# same_answers WHAT CHECK ARGS...: "CHECK URI" gives the same output with
# each server started with ARGS; sets $answers to it.  (Not to be run in a
# $(...) subshell: the servers started there would be unknown to the test.)
same_answers() {
    local what=$1 check=${2//$'\n'/ } server first='' answer have_first=false
    shift 2
    for server in $(compared_servers); do
        NBDKIT=$server start_server_unix "$@"
        answer=$(eval "$check \"\$server_uri\"") || fail "$what: '$check' failed against $server"
        stop_server "$server_pid" || true
        if ! $have_first; then
            first=$answer
            have_first=true
        elif [[ $answer != "$first" ]]; then
            fail "$what: $server answers differently" $'\n'"ours: $first"$'\n'"$server: $answer"
        fi
    done
    answers=$first
}

# same_caps WHAT ARGS...: the same export flags with both servers.
same_caps() {
    local what=$1
    shift
    same_answers "$what" export_caps "$@"
}

# same_ops WHAT "OP..." ARGS...: the same replies to nbd_ops OPs, in $answers.
same_ops() {
    local what=$1 ops=$2
    shift 2
    # shellcheck disable=SC2086  # ops are words
    same_answers "$what" "ops_on $ops --" "$@"
}

# ops_on OP... -- URI: nbd_ops with the URI last (for same_answers).
ops_on() {
    local ops=()
    while [[ $1 != -- ]]; do
        ops+=("$1")
        shift
    done
    nbd_ops "$2" "${ops[@]}" | tr '\n' ' '
}

# ops_on_fresh_disk OP... -- URI: ops_on after copying $FRESH_FROM over
# $FRESH_TO in place (a server's open file sees it), so that each server
# starts from the same disk content.
ops_on_fresh_disk() {
    dd if="$FRESH_FROM" of="$FRESH_TO" conv=notrunc status=none
    ops_on "$@"
}

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
