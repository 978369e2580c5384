#!/usr/bin/env bash
# TLS on either side of the proxy: towards an upstream that requires it
# (PSK and X.509 client certificates), and towards our client while the
# upstream is plain; a wrong key fails the client's connection, not the
# server.
source "$(dirname "$0")/../lib/common.sh"
require_commands nbdsh certtool psktool
"$SRCDIR/tests/tls/make-credentials.sh" "$TEST_TMPDIR/creds"
creds=$TEST_TMPDIR/creds

# Upstream requires TLS with PSK.
start_server_unix --tls=require --tls-psk="$creds/keys.psk" memory 4M
psk_upstream=$server_sock
"$NBDKIT" -U - nbd socket="$psk_upstream" tls=require tls-psk="$creds/keys.psk" \
  tls-username=alice --run 'nbdsh -u "$uri" -c "
h.pwrite(b\"t\" * 4096, 0)
assert h.pread(4096, 0) == b\"t\" * 4096
"'
echo "ok: PSK upstream"
# tls-psk alone implies tls=on, which an upstream that requires TLS accepts.
"$NBDKIT" -U - nbd socket="$psk_upstream" tls-psk="$creds/keys.psk" tls-username=alice \
  --run 'nbdinfo --size "$uri"' | grep -qx 4194304 || fail "tls-psk alone"
# Without TLS, or with the wrong key, the client is refused; the proxy lives on.
start_server_unix nbd socket="$psk_upstream"
nbdinfo "$server_uri" >/dev/null 2>&1 && fail "plain connection to a TLS-only upstream served"
start_server_unix nbd socket="$psk_upstream" tls=require tls-psk="$creds/wrong.psk" tls-username=alice
nbdinfo "$server_uri" >/dev/null 2>&1 && fail "wrong key served"
process_alive "$server_pid" || fail "proxy died on a refused upstream"
echo "ok: refusals"

# Upstream requires X.509 client certificates.
start_server_tcp --tls=require --tls-certificates="$creds/pki" --tls-verify-peer memory 4M
"$NBDKIT" -U - nbd hostname=localhost port="$server_port" tls=require \
  tls-certificates="$creds/client-pki" --run 'nbdinfo --size "$uri"' | grep -qx 4194304 ||
  fail "x509 upstream"
echo "ok: X.509 upstream"

# TLS towards our client, plain upstream.
start_server_unix memory 4M
plain=$server_sock
"$NBDKIT" -U - --tls=require --tls-psk="$creds/keys.psk" nbd socket="$plain" --run \
  "nbdsh -c 'h.set_tls(nbd.TLS_REQUIRE); h.set_tls_psk_file(\"$creds/keys.psk\"); h.set_tls_username(\"alice\"); h.connect_unix(\"'\$unixsocket'\"); assert h.get_size() == 4194304'"
echo "ok: TLS towards the client"
echo "$0: PASS"
