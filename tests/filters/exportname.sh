#!/usr/bin/env bash
# exportname filter: the export lists, descriptions, default export and
# strict refusals are the same as with Debian's nbdkit.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdinfo /usr/bin/python3

# listing URI: the names and descriptions of NBD_OPT_LIST, or "error".
listing() {
    nbdinfo --list --json "$1" 2>/dev/null | grep -E '"(export-name|description)"' |
        tr -d '\t' || echo error
}
# connects NAME URI: whether the server lets a client use export NAME.
connects() {
    if nbdinfo --size "${2/\/\?/\/$1?}" >/dev/null 2>&1; then echo yes; else echo no; fi
}

for args in "" "exportname-list=error" "exportname-list=empty" \
    "exportname-list=defaultonly default-export=foo" \
    "exportname-list=explicit exportname=a exportname=b" \
    "exportdesc=fixed:hello exportname-list=explicit exportname=a" \
    "exportdesc=none exportname-list=explicit exportname=a"; do
    # shellcheck disable=SC2086  # parameters are words
    same_answers "list $args" listing --filter=exportname memory 1M $args
done
same_answers "script" listing --filter=exportname memory 1M exportname-list=explicit \
    exportname=a "exportdesc=script:echo desc-\$name"
[[ $answers == *'"description": "desc-a"'* ]] || fail "script description: $answers"

strict="exportname-strict=true exportname=a exportname=b"
# shellcheck disable=SC2086  # parameters are words
same_answers "strict, a" "connects a" --filter=exportname memory 1M $strict
[[ $answers == yes ]] ||
    fail "strict refused a listed name"
# shellcheck disable=SC2086
same_answers "strict, c" "connects c" --filter=exportname memory 1M $strict
[[ $answers == no ]] ||
    fail "strict accepted an unlisted name"
# shellcheck disable=SC2086
same_answers "strict, default" "connects ''" --filter=exportname memory 1M $strict
# shellcheck disable=SC2086
same_answers "strict, default a" "connects ''" --filter=exportname memory 1M $strict \
    default-export=a

expect_bad_parameter "exportname-list" --filter=exportname memory 1M exportname-list=foo
