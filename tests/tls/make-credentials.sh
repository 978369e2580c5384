#!/bin/bash
# make-credentials.sh DIR: creates throw-away TLS credentials for tests and
# benchmarks (never for real use):
#   DIR/pki/{ca-cert.pem,server-cert.pem,server-key.pem}   server side, CN=localhost
#   DIR/client-pki/{ca-cert.pem,client-cert.pem,client-key.pem}  a client signed by the CA
#   DIR/other-pki/, DIR/other-client-pki/: the same, from an unrelated CA
#   DIR/keys.psk       user "alice", DIR/wrong.psk: user "alice" with another key
set -euo pipefail

dir=$1
command -v certtool >/dev/null && command -v psktool >/dev/null || {
  echo "$0: certtool/psktool (gnutls-bin) not installed" >&2
  exit 77
}

make_pki() {
  local out=$1 ca_name=$2
  local tmpl=$out/tmpl
  mkdir -p "$out" "$out-client"
  certtool --generate-privkey --key-type=ecdsa --outfile "$out/ca-key.pem" 2>/dev/null
  printf 'cn = %s\nca\ncert_signing_key\nexpiration_days = 2\n' "$ca_name" >"$tmpl"
  certtool --generate-self-signed --load-privkey "$out/ca-key.pem" \
    --template "$tmpl" --outfile "$out/ca-cert.pem" 2>/dev/null

  certtool --generate-privkey --key-type=ecdsa --outfile "$out/server-key.pem" 2>/dev/null
  printf 'organization = test\ncn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\n%s\n' \
    'tls_www_server
encryption_key
signing_key
expiration_days = 2' >"$tmpl"
  certtool --generate-certificate --load-ca-certificate "$out/ca-cert.pem" \
    --load-ca-privkey "$out/ca-key.pem" --load-privkey "$out/server-key.pem" \
    --template "$tmpl" --outfile "$out/server-cert.pem" 2>/dev/null

  certtool --generate-privkey --key-type=ecdsa --outfile "$out-client/client-key.pem" 2>/dev/null
  printf 'organization = test\ncn = client\n%s\n' \
    'tls_www_client
encryption_key
signing_key
expiration_days = 2' >"$tmpl"
  certtool --generate-certificate --load-ca-certificate "$out/ca-cert.pem" \
    --load-ca-privkey "$out/ca-key.pem" --load-privkey "$out-client/client-key.pem" \
    --template "$tmpl" --outfile "$out-client/client-cert.pem" 2>/dev/null
  cp "$out/ca-cert.pem" "$out-client/"
  rm -f "$tmpl" "$out/ca-key.pem"
  chmod 0600 "$out/server-key.pem" "$out-client/client-key.pem"
}

make_pki "$dir/pki" "test CA"
mv "$dir/pki-client" "$dir/client-pki"
make_pki "$dir/other-pki" "unrelated CA"
mv "$dir/other-pki-client" "$dir/other-client-pki"

psktool -u alice -p "$dir/keys.psk" >/dev/null
psktool -u alice -p "$dir/wrong.psk" >/dev/null
chmod 0600 "$dir/keys.psk" "$dir/wrong.psk"
