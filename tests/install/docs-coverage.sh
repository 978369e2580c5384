#!/bin/bash
# Every built-in plugin and filter has a man page source in docs/, every
# long option appears in nbdkit(1), and every page renders with man.
source "$(dirname "$0")/../lib/common.sh"
require_commands man

# The lists come from the server's own "unknown plugin/filter" message.
layer_names() {
    "$NBDKIT" "$@" 2>&1 | sed -n 's/.*available [a-z]*: //p' | tr -d ' ' | tr ',' '\n'
}
missing=()
for plugin in $(layer_names no-such-plugin-name); do
    [[ -f $SRCDIR/docs/nbdkit-$plugin-plugin.1.md ]] || missing+=("nbdkit-$plugin-plugin.1.md")
done
for filter in $(layer_names --filter=no-such-filter-name null); do
    [[ -f $SRCDIR/docs/nbdkit-$filter-filter.1.md ]] || missing+=("nbdkit-$filter-filter.1.md")
done
((${#missing[@]} == 0)) || fail "no man page source for: ${missing[*]}"

undocumented=()
for option in $("$NBDKIT" --long-options); do
    grep -q -- "$option" "$SRCDIR/docs/nbdkit.1.md" || undocumented+=("$option")
done
((${#undocumented[@]} == 0)) || fail "options missing from docs/nbdkit.1.md: ${undocumented[*]}"

man_dir=$BUILDDIR/docs/man
if [[ ! -d $man_dir ]]; then
    echo "man pages not built (no pandoc): skipping the rendering check"
else
    for source in "$SRCDIR"/docs/*.[1-9].md; do
        page=$man_dir/$(basename "${source%.md}")
        [[ -f $page ]] || fail "$page was not built"
        # Layout warnings (a wide table, a line troff cannot justify) are
        # not errors: the page still reads well.
        rendered=$(MANWIDTH=80 man -l "$page" 2>"$TEST_TMPDIR/man.err")
        errors=$(grep -i 'error' "$TEST_TMPDIR/man.err" || true)
        [[ -z $errors ]] || fail "man -l $page: $errors"
        grep -q '^NAME' <<<"$rendered" || fail "$page has no NAME section"
    done
fi
echo PASS
