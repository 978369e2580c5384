#!/bin/bash
# X.509 TLS with --tls=require: libnbd and qemu clients, plaintext and
# wrong-CA clients refused, and a client that breaks its handshake does not
# stop the server serving others.
source "$(dirname "$0")/lib.sh"
require_commands nbdcopy qemu-img

start_server_unix --tls=require --tls-certificates="$creds/pki" memory 1M
expect_tls "$(x509_uri "$creds/ca-only")"
round_trip "$(x509_uri "$creds/ca-only")"

timeout 60 qemu-img info --output=json \
    --object "tls-creds-x509,id=tls0,dir=$creds/ca-only,endpoint=client" \
    --image-opts "driver=nbd,server.type=unix,server.path=$server_sock,tls-creds=tls0,tls-hostname=localhost" \
    >"$TEST_TMPDIR/qemu.json" || fail "qemu-img with tls-creds-x509"
grep -q '"virtual-size": 1048576' "$TEST_TMPDIR/qemu.json" || fail "qemu-img: $(cat "$TEST_TMPDIR/qemu.json")"

expect_refused "$server_uri"
/usr/bin/python3 "$(dirname "$0")/raw_client.py" "$server_sock" tls-required

# Failed handshakes end only their own connection.
/usr/bin/python3 "$(dirname "$0")/raw_client.py" "$server_sock" garbage
expect_tls "$(x509_uri "$creds/client-pki")"
stop_server "$server_pid" || fail "server exit status $?"

# --tls-verify-peer: a client certificate signed by the CA is required.
start_server_unix --tls=require --tls-verify-peer --tls-certificates="$creds/pki" memory 1M
expect_refused "$(x509_uri "$creds/ca-only")"
expect_refused "$(x509_uri "$creds/other-client-pki")"
expect_tls "$(x509_uri "$creds/client-pki")"
stop_server "$server_pid" || fail "server exit status $?"

# Over TCP libnbd checks the server's certificate (over Unix sockets
# libnbd 1.14 does not): its CA, and its name (localhost).
start_server_tcp --tls=require --tls-certificates="$creds/pki" memory 1M
expect_tls "nbds://localhost:$server_port/?tls-certificates=$creds/ca-only"
expect_refused "nbds://localhost:$server_port/?tls-certificates=$creds/other-client-pki"
stop_server "$server_pid" || fail "server exit status $?"

echo PASS
