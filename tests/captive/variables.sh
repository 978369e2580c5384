#!/usr/bin/env bash
# The shell variables --run provides: uri, nbd, port, unixsocket,
# exportname and tls.
source "$(dirname "$0")/../lib/common.sh"

# show ARGS...: the variables as nbdkit ARGS --run sees them, one per line.
show() {
    "$NBDKIT" "$@" --run '
        echo "uri=$uri"
        echo "nbd=$nbd"
        echo "port=$port"
        echo "unixsocket=$unixsocket"
        echo "exportname=$exportname"
        echo "tls=${tls-unset}"
        echo "exported=$(sh -c "echo \${uri-unset}")"' </dev/null
}
var() { sed -n "s/^$1=//p" <<<"$out"; }

export TMPDIR=$TEST_TMPDIR

# --run alone implies `-U -`.
out=$(show null 1M)
sock=$(var unixsocket)
[[ $sock =~ ^$TEST_TMPDIR/nbdkit......+/socket$ ]] || fail "unixsocket=$sock"
[[ $(var uri) == "nbd+unix://?socket=$sock" ]] || fail "uri=$(var uri)"
[[ $(var nbd) == "$(var uri)" ]] || fail "nbd=$(var nbd)"
[[ -z $(var port) ]] || fail "port=$(var port) without -p"
[[ -z $(var exportname) ]] || fail "exportname=$(var exportname)"
[[ $(var tls) == unset ]] || fail "tls=$(var tls) with TLS off"
# Plain assignments: not exported to the command's children.
[[ $(var exported) == unset ]] || fail "uri is exported"
[[ ! -e $sock ]] || fail "private socket left behind"

# -e sets $exportname and the URI's path, percent-encoded where needed.
out=$(show -U - -e 'my disk/1' null 1M)
[[ $(var exportname) == "my disk/1" ]] || fail "exportname=$(var exportname)"
[[ $(var uri) == "nbd+unix:///my%20disk/1?socket=$(var unixsocket)" ]] || fail "uri=$(var uri)"

# An explicit socket path.
out=$(show -U "$TEST_TMPDIR/my.sock" null 1M)
[[ $(var unixsocket) == "$TEST_TMPDIR/my.sock" ]] || fail "unixsocket=$(var unixsocket)"
[[ $(var uri) == "nbd+unix://?socket=$TEST_TMPDIR/my.sock" ]] || fail "uri=$(var uri)"

# A value with shell metacharacters arrives intact.
out=$(show -U - -e "it's \$HOME \`x\`" null 1M)
[[ $(var exportname) == "it's \$HOME \`x\`" ]] || fail "exportname=$(var exportname)"

# TCP with -p: $port is set and the URI names the -i address (nbdkit 1.32
# says localhost, which need not resolve to the address listened on).
for attempt in 1 2 3 4 5; do
    port=$(free_tcp_port)
    out=$(show -i 127.0.0.1 -p "$port" null 1M 2>/dev/null) && break
done
[[ $(var port) == "$port" ]] || fail "port=$(var port)"
[[ $(var uri) == "nbd://127.0.0.1:$port" ]] || fail "uri=$(var uri)"
[[ -z $(var unixsocket) ]] || fail "unixsocket=$(var unixsocket) with -p"

# --tls=off: $tls unset.
out=$(show --tls=off null 1M)
[[ $(var tls) == unset ]] || fail "tls=$(var tls) with --tls=off"

echo PASS
