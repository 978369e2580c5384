#!/bin/bash
# PSK TLS with --tls=require: libnbd and qemu clients, wrong keys and
# unknown users refused without stopping the server.
source "$(dirname "$0")/lib.sh"
require_commands nbdcopy qemu-img

start_server_unix --tls=require --tls-psk="$creds/keys.psk" memory 1M
expect_tls "$(psk_uri "$creds/keys.psk")"
round_trip "$(psk_uri "$creds/keys.psk")"

# qemu reads DIR/keys.psk.
mkdir "$TEST_TMPDIR/qemu-psk"
cp "$creds/keys.psk" "$TEST_TMPDIR/qemu-psk/"
timeout 60 qemu-img info --output=json \
    --object "tls-creds-psk,id=tls0,dir=$TEST_TMPDIR/qemu-psk,username=alice,endpoint=client" \
    --image-opts "driver=nbd,server.type=unix,server.path=$server_sock,tls-creds=tls0" \
    >"$TEST_TMPDIR/qemu.json" || fail "qemu-img with tls-creds-psk"
grep -q '"virtual-size": 1048576' "$TEST_TMPDIR/qemu.json" || fail "qemu-img: $(cat "$TEST_TMPDIR/qemu.json")"

expect_refused "$(psk_uri "$creds/wrong.psk")"
expect_refused "nbds+unix://mallory@/?socket=$server_sock&tls-psk-file=$creds/keys.psk"
expect_refused "$server_uri"
/usr/bin/python3 "$(dirname "$0")/raw_client.py" "$server_sock" tls-required
/usr/bin/python3 "$(dirname "$0")/raw_client.py" "$server_sock" garbage
# Still serving.
expect_tls "$(psk_uri "$creds/keys.psk")"
stop_server "$server_pid" || fail "server exit status $?"

echo PASS
