# shellcheck shell=bash
# Shared by the TLS scripts: credentials in $creds (see make-credentials.sh)
# and client URIs for a server started with start_server_unix.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
require_commands certtool psktool nbdinfo

creds=$TEST_TMPDIR/creds
mkdir -p "$creds"
"$(dirname "${BASH_SOURCE[0]}")/make-credentials.sh" "$creds"
# A client directory with the CA but no certificate of its own.
mkdir -p "$creds/ca-only"
cp "$creds/pki/ca-cert.pem" "$creds/ca-only/"

# Debian's nbdkit 1.32 predates the TLS query parameters in $uri (1.40).
is_old_nbdkit() {
    [[ $(readlink -f "$NBDKIT") == /usr/bin/nbdkit ]]
}

# x509_uri CLIENT_DIR, psk_uri PSK_FILE: TLS URIs for $server_sock.
# libnbd takes the PSK username from the URI's user part.
x509_uri() { echo "nbds+unix:///?socket=$server_sock&tls-certificates=$1"; }
psk_uri() { echo "nbds+unix://alice@/?socket=$server_sock&tls-psk-file=$1"; }

# expect_tls URI: the client connects and TLS was negotiated.
expect_tls() {
    local out
    out=$(timeout 60 nbdinfo "$1" 2>&1) || fail "nbdinfo $1 failed: $out"
    [[ $out == *"with TLS"* ]] || fail "nbdinfo $1: no TLS: $out"
}

# expect_plaintext URI: the client connects without TLS.
expect_plaintext() {
    local out
    out=$(timeout 60 nbdinfo "$1" 2>&1) || fail "nbdinfo $1 failed: $out"
    [[ $out != *"with TLS"* ]] || fail "nbdinfo $1: unexpected TLS: $out"
}

# expect_refused URI: the client cannot connect.
expect_refused() {
    local out
    if out=$(timeout 60 nbdinfo "$1" 2>&1); then
        fail "nbdinfo $1 connected: $out"
    fi
}

# round_trip URI: 1 MiB of random data through nbdcopy, there and back.
round_trip() {
    head -c 1M /dev/urandom >"$TEST_TMPDIR/in"
    timeout 60 nbdcopy "$TEST_TMPDIR/in" "$1" || fail "nbdcopy to $1"
    timeout 60 nbdcopy "$1" "$TEST_TMPDIR/out" || fail "nbdcopy from $1"
    cmp "$TEST_TMPDIR/in" "$TEST_TMPDIR/out" || fail "data differs after a round trip through $1"
}
