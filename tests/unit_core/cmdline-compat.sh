#!/bin/bash
# The same command lines given to our nbdkit and to Debian's must end the
# same way: same exit status, and for the information options the same
# key lines.  Only command lines that exit before serving, or captive ones
# on private Unix sockets, are used.
set -u
: "${NBDKIT:?}"
reference=/usr/bin/nbdkit
[ -x "$reference" ] || { echo "no $reference: skipped"; exit 77; }
[ -x "$NBDKIT" ] || { echo "no $NBDKIT"; exit 1; }

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
failures=0

# run BINARY ARGS...: prints the exit status; output goes to $workdir.
run() {
  local binary=$1
  shift
  timeout 20 "$binary" "$@" </dev/null >"$workdir/out" 2>"$workdir/err"
  echo $?
}

same_status() {
  local ours theirs
  ours=$(run "$NBDKIT" "$@")
  theirs=$(run "$reference" "$@")
  if [ "$ours" != "$theirs" ]; then
    echo "FAIL: nbdkit $*: exit status $ours, nbdkit gives $theirs"
    sed 's/^/  ours: /' "$workdir/err" | head -5
    failures=$((failures + 1))
  fi
}

# Illegal combinations and bad values.
same_status -p 1234 -U "$workdir/s" memory 1M
same_status -p 1234 -s memory 1M
same_status -U - -s memory 1M
same_status -s --run true memory 1M
same_status -s --dump-plugin memory 1M
same_status --vsock -U - memory 1M
same_status --vsock -s memory 1M
same_status -o --tls=require -U - memory 1M --run true
same_status
same_status -U - --run true
same_status --no-such-option memory 1M
same_status -X memory 1M
same_status memory 1M -p
same_status --verbose=1 memory 1M
same_status -U - --tls=maybe memory 1M --run true
same_status -U - --log=nowhere memory 1M --run true
same_status -U - -D foo memory 1M --run true
same_status -U - -D foo.bar=x memory 1M --run true
same_status -U - -t x memory 1M --run true
same_status -U - -t -1 memory 1M --run true
same_status -U - --mask-handshake=x memory 1M --run true
same_status -U - no-such-plugin --run true
same_status -U - --filter=no-such-filter memory 1M --run true

# Sizes as the memory plugin parses them.
for size in 1M 1m ' 1M' +1M 7E 9223372036854775807 512s 1b 1MiB 0x10 1.5M -1 \
            9223372036854775808 8E '' 1K2; do
  same_status memory "size=$size" --dump-plugin
done

# Information options.
same_status --help
same_status -V
same_status --version
same_status --dump-config
same_status memory 1M --dump-plugin
same_status memory --help
same_status memory -V
same_status --short-options
same_status --long-options

# Options after the plugin, aliases, and captive exit statuses.
same_status -U - memory 1M -r --run 'exit 3'
same_status -U - --read-only --export-name=foo memory 1M --run 'test "$exportname" = foo'
same_status -U - -e a -e b memory 1M --run 'test "$exportname" = b'
same_status -U - -t 0x10 -n --new-style --no-fork memory 1M --run 'exit 0'
same_status -U - --tls=off --mask-handshake=9 memory 1M --run 'exit 0'
same_status -U - -D memory.dir=1 memory 1M --run 'exit 0'
same_status -U - memory 1M size=2M --run 'exit 0'
same_status -U - memory 1M -- 2M --run true

# --dump-plugin keys that scripts look at.
for key in name magic_config_key api_version max_thread_model thread_model; do
  ours=$("$NBDKIT" memory 1M --dump-plugin </dev/null 2>/dev/null | grep "^$key=")
  theirs=$("$reference" memory 1M --dump-plugin </dev/null 2>/dev/null | grep "^$key=")
  if [ "$ours" != "$theirs" ]; then
    echo "FAIL: --dump-plugin: ours '$ours', nbdkit '$theirs'"
    failures=$((failures + 1))
  fi
done

# Every long option nbdkit knows is known here too.
"$NBDKIT" --long-options </dev/null | sort >"$workdir/ours.long"
"$reference" --long-options </dev/null | sort >"$workdir/theirs.long"
missing=$(comm -13 "$workdir/ours.long" "$workdir/theirs.long")
if [ -n "$missing" ]; then
  echo "FAIL: long options missing:" $missing
  failures=$((failures + 1))
fi
"$NBDKIT" --short-options </dev/null | sort >"$workdir/ours.short"
"$reference" --short-options </dev/null | sort >"$workdir/theirs.short"
missing=$(comm -13 "$workdir/ours.short" "$workdir/theirs.short")
if [ -n "$missing" ]; then
  echo "FAIL: short options missing:" $missing
  failures=$((failures + 1))
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures difference(s)"
  exit 1
fi
echo "all command lines behave as in nbdkit"
