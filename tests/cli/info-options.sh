#!/usr/bin/env bash
# --version, --dump-config and --help: what scripts probing nbdkit rely on.
source "$(dirname "$0")/../lib/common.sh"

out=$("$NBDKIT" --version)
[[ $out =~ ^nbdkit\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version printed: $out"
version=${out#nbdkit }
[[ $("$NBDKIT" -V) == "$out" ]] || fail "-V differs from --version"

# With a plugin, one more line names it and its version.
out=$("$NBDKIT" null --version)
[[ $(sed -n 1p <<<"$out") == "nbdkit $version" ]] || fail "null --version: $out"
[[ $(sed -n 2p <<<"$out") =~ ^null\ [0-9] ]] || fail "null --version: no plugin line: $out"

# The portable probe for --exit-with-parent support (nbdkit-captive(1)).
"$NBDKIT" --exit-with-parent --version >/dev/null || fail "--exit-with-parent --version failed"

config=$("$NBDKIT" --dump-config)
key() { sed -n "s/^$1=//p" <<<"$config"; }
[[ $(key version) == "$version" ]] || fail "dump-config version"
[[ $(key version_major).$(key version_minor) == "${version%.*}" ]] || fail "dump-config version_major/minor"
[[ $(key name) == nbdkit ]] || fail "dump-config name"
[[ $(key exit_with_parent) == yes ]] || fail "dump-config exit_with_parent"
[[ $(key run_default_socket) == Unix ]] || fail "dump-config run_default_socket"
[[ $(key tls) == yes ]] || fail "dump-config tls"
[[ $(key host_os) == linux-gnu ]] || fail "dump-config host_os"
[[ $(key host_cpu) == "$(uname -m)" ]] || fail "dump-config host_cpu"
[[ $(realpath "$(key binary)") == $(realpath "$NBDKIT") ]] || fail "dump-config binary=$(key binary)"
# Every line is key=value, sorted by key (as nbdkit prints it).
grep -qv '^[a-z_]*=' <<<"$config" && fail "dump-config has a line that is not key=value"
[[ $(cut -d= -f1 <<<"$config") == $(cut -d= -f1 <<<"$config" | LC_ALL=C sort) ]] ||
    fail "dump-config keys are not sorted"

help=$("$NBDKIT" --help)
grep -q -- '--run' <<<"$help" || fail "--help does not mention --run"
grep -q 'PLUGIN' <<<"$help" || fail "--help has no synopsis"
# With a plugin, the plugin's own help follows.
help=$("$NBDKIT" memory --help)
grep -q '^plugin: memory' <<<"$help" || fail "memory --help lacks the plugin section"
grep -q 'size=' <<<"$help" || fail "memory --help lacks size="

# --dump-plugin loads and configures the plugin, then exits 0.
out=$("$NBDKIT" null 1M --dump-plugin)
grep -q '^name=null$' <<<"$out" || fail "--dump-plugin: $out"

echo PASS
