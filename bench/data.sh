#!/bin/bash
# Start-up time of the data plugin: `nbdkit -U - data EXPRESSION --run
# true` for large expressions and a 10 MiB <FILE, ours and Debian's
# /usr/bin/nbdkit interleaved in one run so that both see the same load.
# Prints the median wall and CPU time per start of each and the ratios
# (the target for a 1 MiB expression: ours <= 0.5x nbdkit's).
#
# Usage: bench/data.sh [RUNS]      (default 20 runs of each case)
# Environment: NBDKIT (default build/nbdkit), NBDKIT_REFERENCE
# (default /usr/bin/nbdkit).
source "$(dirname "$0")/lib.sh"
cd "$SRCDIR"

runs=${1:-20}
reference=${NBDKIT_REFERENCE:-/usr/bin/nbdkit}

head -c $((10 << 20)) /dev/urandom >"$TEST_TMPDIR/10M.bin"
# 20000 literal bytes: about as long as a single argument comfortably is.
literal=$(printf '0x%02x ' $(seq 0 19999 | awk '{ print $1 % 256 }'))

# name|arguments (eval'd)
cases=(
  "(0x55)*1000000|'(0x55)*1000000'"
  "(0x55 0xAA)*524288 (1 MiB)|'(0x55 0xAA)*524288'"
  "((0x55 0xAA)*1024)*512 nested|'((0x55 0xAA)*1024)*512'"
  "(((1 2 3 4)*256)*256)*256 (64 MiB)|'(((1 2 3 4)*256)*256)*256'"
  "1G sparse, 4 bytes|'1 @0x10000000 2 @0x20000000 3 @0x3fffffff 4'"
  "20000 literal bytes|\"\$literal\""
  "<FILE of 10 MiB|'<$TEST_TMPDIR/10M.bin'"
  "<FILE 10 MiB [1:] *2|'<$TEST_TMPDIR/10M.bin[1:]*2'"
)

# start_ms NBDKIT ARGS...: "WALL CPU" milliseconds of one captive start
# (CPU: user + system of nbdkit and what it waited for, which the load of
# a shared machine disturbs less than the wall time).
start_ms() {
  /usr/bin/time -o "$TEST_TMPDIR/time" -f '%e %U %S' "$1" -U - data "${@:2}" --run true \
    >/dev/null || fail "$1 data ${*:2} failed"
  awk '{ printf "%.0f %.0f\n", $1 * 1000, ($2 + $3) * 1000 }' "$TEST_TMPDIR/time"
}

median() {
  printf '%s\n' "$@" | sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'
}

printf '%-36s %9s %9s %6s %9s %9s %6s\n' "data expression" "ours ms" "nbdkit" "ratio" \
  "ours CPU" "nbdkit" "ratio"
for entry in "${cases[@]}"; do
  name=${entry%%|*}
  eval "args=(${entry#*|})"
  ours_wall=() ours_cpu=() theirs_wall=() theirs_cpu=()
  for ((i = 0; i < runs; i++)); do
    read -r wall cpu <<<"$(start_ms "$NBDKIT" "${args[@]}")"
    ours_wall+=("$wall") ours_cpu+=("$cpu")
    read -r wall cpu <<<"$(start_ms "$reference" "${args[@]}")"
    theirs_wall+=("$wall") theirs_cpu+=("$cpu")
  done
  a=$(median "${ours_wall[@]}") b=$(median "${theirs_wall[@]}")
  c=$(median "${ours_cpu[@]}") d=$(median "${theirs_cpu[@]}")
  printf '%-36s %9s %9s %6s %9s %9s %6s\n' "$name" "$a" "$b" "$(ratio "$a" "$b")" \
    "$c" "$d" "$(ratio "$c" "$d")"
  record "$name" "start-up wall ms" "$a" "$b"
  record "$name" "start-up CPU ms" "$c" "$d"
done
