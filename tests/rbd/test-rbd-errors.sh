#!/usr/bin/env bash
# A missing pool, image or cluster, bad credentials and bad parameters exit
# 1 at start-up with librados's or librbd's reason.
source "$(dirname "$0")/functions.sh"

# expect_error PATTERN ARGS...
expect_error() {
  local pattern=$1 status=0
  shift
  timeout 120 "$NBDKIT" -U - "$@" --run 'echo served' >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" ||
    status=$?
  [ "$status" = 1 ] || fail "nbdkit $*: exit status $status, expected 1"
  grep -q served "$TEST_TMPDIR/out" && fail "nbdkit $*: served anyway"
  grep -qi -- "$pattern" "$TEST_TMPDIR/err" ||
    fail "nbdkit $*: message lacks '$pattern': $(cat "$TEST_TMPDIR/err")"
  echo "ok: nbdkit $*: $(head -1 "$TEST_TMPDIR/err")"
}

expect_error 'you must give' rbd conf="$conf"
expect_error 'expected POOL/IMAGE' rbd noslash conf="$conf"
expect_error 'expected POOL/IMAGE' rbd pool/ conf="$conf"
expect_error 'unknown parameter' rbd nbd/x conf="$conf" colour=blue
expect_error 'No such file' rbd nbd/missing conf="$conf"
expect_error 'pool nopool' rbd nopool/x conf="$conf"
expect_error 'No such file' rbd nbd/x conf="$TEST_TMPDIR/missing.conf"

# A cluster that is not there: a monitor address nobody listens on.
port=$(free_tcp_port)
sed -e "s/^mon host = .*/mon host = v1:127.0.0.1:$port/" "$conf" >"$TEST_TMPDIR/nocluster.conf"
echo "client mount timeout = 3" >>"$TEST_TMPDIR/nocluster.conf"
expect_error 'connecting to the Ceph cluster' rbd nbd/x conf="$TEST_TMPDIR/nocluster.conf"

# Bad credentials: cephx on the client side against a cluster without it,
# with a keyring that does not exist.
cp "$conf" "$TEST_TMPDIR/cephx.conf"
sed -i -e 's/^auth client required = none/auth client required = cephx/' "$TEST_TMPDIR/cephx.conf"
expect_error 'connecting to the Ceph cluster' rbd nbd/x conf="$TEST_TMPDIR/cephx.conf" \
  id=nobody keyring="$TEST_TMPDIR/missing.keyring"
echo "$0: PASS"
