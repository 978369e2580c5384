# Cross-checks against Debian's nbdkit for filter tests; source after
# lib.sh.  Each helper starts every server of compared_servers with the
# same command line, runs the same client against it, and fails when the
# answers differ (or, against ours alone, returns them).

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
