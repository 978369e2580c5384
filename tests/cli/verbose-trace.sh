#!/bin/bash
# -v traces like nbdkit's: the same session (one nbdsh script through the
# delay filter to the memory plugin) against our server and Debian's
# nbdkit must give the same per-layer request lines in the same order
# ("delay: pread count=512 offset=4096" then "memory: pread ..."), and
# our control-path lines must be lines nbdkit prints too.  Also: the
# listening address, accepted/closed lines with the peer, one prefix per
# connection, the negotiated options, -D nbdkit.backend.controlpath=0 /
# datapath=0, warnings for -D flags nothing reads, and silence without -v.
source "$(dirname "$0")/../lib/common.sh"
require_commands nbdsh
reference=${REFERENCE_NBDKIT:-/usr/bin/nbdkit}
[[ -x $reference ]] || skip "Debian's nbdkit is not installed"

cat >"$TEST_TMPDIR/session.py" <<'EOF'
h.pread(512, 4096)
h.pwrite(b"x" * 512, 0, nbd.CMD_FLAG_FUA)
h.pwrite(b"y" * 1024, 8192)
h.flush()
h.zero(4096, 0)
h.zero(4096, 65536, nbd.CMD_FLAG_NO_HOLE)
h.trim(4096, 0)
h.block_status(4096, 0, lambda *args: 0)
h.block_status(8192, 0, lambda *args: 0, nbd.CMD_FLAG_REQ_ONE)
EOF
session="nbdsh --base-allocation -u \"\$uri\" -c 'exec(open(\"$TEST_TMPDIR/session.py\").read())'"

# trace SERVER NAME ARGS...: stderr of SERVER -v serving the session.
trace() {
    local server=$1 name=$2
    shift 2
    "$server" -v -U - "$@" --filter=delay memory 1M --run "$session" \
        2>"$TEST_TMPDIR/$name.log" || fail "$name: the session failed: $(cat "$TEST_TMPDIR/$name.log")"
}

# data_lines LOG: the per-layer data calls, without the thread prefix.
data_lines() {
    sed -n 's/^nbdkit: [^ ]*: debug: \(\(delay\|memory\): \(pread\|pwrite\|flush\|trim\|zero\|extents\|cache\)\b.*\)/\1/p' "$1"
}
# control_lines LOG: the per-layer control calls (open, get_size, can_*, close, ...).
control_lines() {
    sed -n 's/^nbdkit: [^ ]*: debug: \(\(delay\|memory\): \(open \|get_size\|can_\|is_rotational\|block_size\|close\).*\)/\1/p' "$1" |
        sort -u
}

trace "$NBDKIT" ours
trace "$reference" nbdkit
data_lines "$TEST_TMPDIR/ours.log" >"$TEST_TMPDIR/ours.data"
data_lines "$TEST_TMPDIR/nbdkit.log" >"$TEST_TMPDIR/nbdkit.data"
[[ $(wc -l <"$TEST_TMPDIR/ours.data") -ge 18 ]] ||
    fail "too few request lines: $(cat "$TEST_TMPDIR/ours.log")"
diff -u "$TEST_TMPDIR/nbdkit.data" "$TEST_TMPDIR/ours.data" ||
    fail "request trace differs from nbdkit's (- nbdkit, + ours)"

control_lines "$TEST_TMPDIR/ours.log" >"$TEST_TMPDIR/ours.control"
control_lines "$TEST_TMPDIR/nbdkit.log" >"$TEST_TMPDIR/nbdkit.control"
grep -qx 'delay: open readonly=0 exportname="" tls=0' "$TEST_TMPDIR/ours.control" ||
    fail "no open line: $(cat "$TEST_TMPDIR/ours.control")"
grep -qx 'memory: close' "$TEST_TMPDIR/ours.control" || fail "no close line"
# (close lines left out: Debian's nbdkit may exit when the --run command
# ends before its connection thread has closed the layers and said so.)
extra=$(grep -v ': close$' "$TEST_TMPDIR/ours.control" | comm -23 - "$TEST_TMPDIR/nbdkit.control")
[[ -z $extra ]] || fail "control lines nbdkit does not print: $extra"

# Lines both servers print the same way.
for pattern in \
    'debug: bound to unix socket /.*/socket$' \
    'debug: newstyle negotiation: NBD_OPT_GO: client requested export '"''"'$' \
    'debug: replying to NBD_OPT_STRUCTURED_REPLY with NBD_REP_ACK$' \
    'debug: replying to NBD_OPT_GO with NBD_REP_ACK$' \
    '^nbdkit: debug: memory: get_ready$' \
    '^nbdkit: debug: memory: config key=size, value=1M$'; do
    for name in ours nbdkit; do
        grep -q "$pattern" "$TEST_TMPDIR/$name.log" || fail "$name: no line matching $pattern"
    done
done
# Ours also names the client, and the option queries.
grep -q '^nbdkit: memory\[1\]: debug: accepted connection from unix socket (pid [0-9]*, uid [0-9]*)$' \
    "$TEST_TMPDIR/ours.log" || fail "no accepted line with the peer"
grep -q '^nbdkit: memory\[1\]: debug: closed connection from unix socket (pid' \
    "$TEST_TMPDIR/ours.log" || fail "no closed line"
grep -q "NBD_OPT_SET_META_CONTEXT: query 'base:allocation'" "$TEST_TMPDIR/ours.log" ||
    fail "meta context query not logged"

# -D nbdkit.backend.datapath=0 / controlpath=0 keep the other half.
for name in ours nbdkit; do
    server=$NBDKIT
    [[ $name == nbdkit ]] && server=$reference
    trace "$server" "$name-nodata" -D nbdkit.backend.datapath=0
    [[ -z $(data_lines "$TEST_TMPDIR/$name-nodata.log") ]] || fail "$name: datapath=0 still traces requests"
    [[ -n $(control_lines "$TEST_TMPDIR/$name-nodata.log") ]] || fail "$name: datapath=0 hides the control path"
    trace "$server" "$name-nocontrol" -D nbdkit.backend.controlpath=0
    [[ -n $(data_lines "$TEST_TMPDIR/$name-nocontrol.log") ]] || fail "$name: controlpath=0 hides requests"
    [[ -z $(control_lines "$TEST_TMPDIR/$name-nocontrol.log") ]] ||
        fail "$name: controlpath=0 still traces: $(control_lines "$TEST_TMPDIR/$name-nocontrol.log")"
done

# Two clients, two prefixes.
"$NBDKIT" -v -U - memory 1M --run 'nbdsh -u "$uri" -c "h.pread(1, 0)" && nbdsh -u "$uri" -c "h.pread(2, 0)"' \
    2>"$TEST_TMPDIR/two.log"
grep -q '^nbdkit: memory\[1\]: debug: memory: pread count=1 offset=0$' "$TEST_TMPDIR/two.log" ||
    fail "first connection's prefix: $(cat "$TEST_TMPDIR/two.log")"
grep -q '^nbdkit: memory\[2\]: debug: memory: pread count=2 offset=0$' "$TEST_TMPDIR/two.log" ||
    fail "second connection's prefix"

# TCP: the bound address and the client's address and port.
# Another test may take the free port first: try a few.
for attempt in 1 2 3 4 5; do
    port=$(free_tcp_port)
    "$NBDKIT" -v -i 127.0.0.1 -p "$port" memory 1M --run 'nbdsh -u "$uri" -c "h.pread(1, 0)"' \
        2>"$TEST_TMPDIR/tcp.log" && break
    ((attempt < 5)) || fail "TCP session failed: $(cat "$TEST_TMPDIR/tcp.log")"
done
grep -q "^nbdkit: debug: bound to 127.0.0.1 port $port\$" "$TEST_TMPDIR/tcp.log" || fail "no TCP bound line"
grep -q '^nbdkit: memory\[1\]: debug: accepted connection from 127.0.0.1 port [0-9]*$' "$TEST_TMPDIR/tcp.log" ||
    fail "no TCP accepted line: $(cat "$TEST_TMPDIR/tcp.log")"

# -D flags nothing reads are warned about (with or without -v); known ones are not.
for name in ours nbdkit; do
    server=$NBDKIT
    [[ $name == nbdkit ]] && server=$reference
    "$server" -U - -D memory.nosuchflag=1 -D nosuchlayer.x=1 -D memory.dir=1 \
        -D nbdkit.backend.datapath=1 memory 1M --run true 2>"$TEST_TMPDIR/$name-flags.log"
    grep -q 'warning.*memory.nosuchflag' "$TEST_TMPDIR/$name-flags.log" || fail "$name: no warning for memory.nosuchflag"
    grep -q 'warning.*nosuchlayer.x' "$TEST_TMPDIR/$name-flags.log" || fail "$name: no warning for nosuchlayer.x"
    ! grep -q 'memory.dir\|datapath' "$TEST_TMPDIR/$name-flags.log" ||
        fail "$name: warned about a known flag: $(cat "$TEST_TMPDIR/$name-flags.log")"
done

# Without -v: nothing at all.
"$NBDKIT" -U - --filter=delay memory 1M --run "$session" 2>"$TEST_TMPDIR/quiet.log"
[[ ! -s $TEST_TMPDIR/quiet.log ]] || fail "messages without -v: $(cat "$TEST_TMPDIR/quiet.log")"
echo "$0: PASS"
