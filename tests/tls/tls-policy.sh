#!/bin/bash
# --tls=off/on/require and missing credentials at start-up, and what
# --run's command gets ($tls, $uri).
source "$(dirname "$0")/lib.sh"

# --tls=on: plaintext and TLS clients are both served.
start_server_unix --tls=on --tls-certificates="$creds/pki" memory 1M
expect_plaintext "$server_uri"
expect_tls "$(x509_uri "$creds/ca-only")"
stop_server "$server_pid" || fail "server exit status $?"

# --tls not given but a PSK file: TLS is on.
start_server_unix --tls-psk="$creds/keys.psk" memory 1M
expect_plaintext "$server_uri"
expect_tls "$(psk_uri "$creds/keys.psk")"
stop_server "$server_pid" || fail "server exit status $?"

# --tls=off: STARTTLS refused, plaintext served.
start_server_unix --tls=off --tls-psk="$creds/keys.psk" memory 1M
expect_plaintext "$server_uri"
expect_refused "$(psk_uri "$creds/keys.psk")"
stop_server "$server_pid" || fail "server exit status $?"

# Start-up: errors exit 1 before the command runs.
expect_startup_error() {
    local status=0
    timeout 60 "$NBDKIT" -U - "$@" memory 1M --run 'touch "$0"' "$TEST_TMPDIR/ran" \
        2>"$TEST_TMPDIR/err" || status=$?
    ((status == 1)) || fail "$*: exit status $status, expected 1"
    [[ ! -e $TEST_TMPDIR/ran ]] || fail "$*: the command ran"
    [[ -s $TEST_TMPDIR/err ]] || fail "$*: no error message"
}
expect_startup_error --tls=require --tls-certificates="$TEST_TMPDIR/none"
expect_startup_error --tls=require --tls-psk="$TEST_TMPDIR/none.psk"
expect_startup_error --tls=on --tls-psk="$TEST_TMPDIR/none.psk"
expect_startup_error -o --tls=require --tls-psk="$creds/keys.psk"

# --tls=on without credentials: a warning, then plaintext only.
out=$(timeout 60 "$NBDKIT" -U - --tls=on --tls-certificates="$TEST_TMPDIR/none" memory 1M \
    --run 'echo "tls=${tls-unset}"; nbdinfo "$uri" | grep protocol:' 2>"$TEST_TMPDIR/err") ||
    fail "--tls=on without certificates: $out"
[[ $out == "tls=unset"*"without TLS"* ]] ||
    fail "--tls=on without certificates: $out"
grep -q warning "$TEST_TMPDIR/err" || fail "no warning: $(cat "$TEST_TMPDIR/err")"

# --run under require: $tls=2 and an nbds URI (whose TLS query parameters
# let "nbdinfo $uri" just work since nbdkit 1.40).
for creds_option in --tls-certificates="$creds/pki" --tls-psk="$creds/keys.psk"; do
    out=$(timeout 60 "$NBDKIT" -U - --tls=require "$creds_option" memory 1M \
        --run 'echo "tls=$tls uri=$uri"') || fail "--run with $creds_option"
    [[ $out == "tls=2 uri=nbds+unix://"* ]] || fail "--run with $creds_option: $out"
    if ! is_old_nbdkit; then
        timeout 60 "$NBDKIT" -U - --tls=require "$creds_option" memory 1M \
            --run 'nbdinfo "$uri"' >"$TEST_TMPDIR/info" || fail "nbdinfo \$uri with $creds_option"
        grep -q "with TLS" "$TEST_TMPDIR/info" || fail "nbdinfo \$uri: $(cat "$TEST_TMPDIR/info")"
    fi
done

echo PASS
