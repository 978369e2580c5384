#!/usr/bin/env bash
# tls-fallback filter: a plaintext client gets, whatever export it names,
# the same 512-byte read-only message disk as with Debian's nbdkit (the
# default message and tlsreadme=).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdinfo /usr/bin/python3

# readme URI: the export's size and the message.
readme() {
    /usr/bin/python3 - "$1" <<'PY'
import sys
import nbd
h = nbd.NBD()
h.set_export_name("anything")
h.connect_uri(sys.argv[1])
print(h.get_size(), h.is_read_only(), bytes(h.pread(512, 0)).rstrip(b"\0"))
PY
}

same_caps "flags" --filter=tls-fallback memory 1M
same_answers "default message" readme --filter=tls-fallback memory 1M
[[ $answers == "512 True b'This NBD server requires TLS"* ]] || fail "default message: $answers"
same_answers "tlsreadme" readme --filter=tls-fallback memory 1M tlsreadme="Use TLS."
[[ $answers == "512 True b'Use TLS.'" ]] || fail "tlsreadme: $answers"
listing() { nbdinfo --list --json "$1" | grep '"export-name"' | tr -d '\t'; }
same_answers "list" listing --filter=tls-fallback memory 1M
