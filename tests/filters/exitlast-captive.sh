#!/usr/bin/env bash
# Captive nbdkit with exitlast: the server exits first, after the
# command's client leaves; nbdkit then exits with the server's status (0)
# when the command succeeded, and with the command's status otherwise.
source "$(dirname "$0")/../lib/common.sh"
require_commands nbdinfo

status=0
"$NBDKIT" -U - --filter=exitlast memory 1M --run 'nbdinfo "$uri" >/dev/null' || status=$?
((status == 0)) || fail "command exit 0: nbdkit exited with $status, expected 0"

status=0
"$NBDKIT" -U - --filter=exitlast memory 1M --run 'nbdinfo "$uri" >/dev/null; exit 4' || status=$?
((status == 4)) || fail "command exit 4: nbdkit exited with $status, expected 4"
