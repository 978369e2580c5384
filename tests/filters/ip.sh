#!/usr/bin/env bash
# ip filter: the man page's examples over TCP 127.0.0.1 and Unix sockets
# (peer uid/gid/pid), allowed and denied, with our server and Debian's.
# Debian's nbdkit 1.32.5 cannot parse IP addresses ("cannot parse address
# "127.0.0.1""), so the rules with addresses are run with ours only.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
require_commands nbdinfo

uid=$(id -u)
gid=$(id -g)
ours=$NBDKIT
for NBDKIT in $(compared_servers); do
    while read -r transport expected who rules; do
        [[ $who == ours && $NBDKIT != "$ours" ]] && continue
        # shellcheck disable=SC2086  # the rules are separate arguments
        start_server "$transport" --filter=ip memory 1M $rules
        expect_client "$NBDKIT $transport $rules" "$expected" "$server_uri"
        stop_server "$server_pid"
    done <<EOF2
tcp allowed ours allow=127.0.0.1,::1 deny=all
tcp denied ours deny=8.0.0.0/8,127.0.0.0/8
tcp allowed ours deny=8.0.0.0/8
tcp denied both allow=anyipv6 deny=all
tcp allowed both allow=anyipv4 deny=all
tcp allowed ours allow=127.0.0.1/32 deny=all
tcp denied ours allow=127.0.0.2 deny=all
tcp denied both deny=anyipv4
unix allowed both allow=uid:$uid deny=all
unix denied both allow=uid:$((uid + 4242)) deny=all
unix allowed both allow=gid:$gid deny=all
unix denied both allow=pid:1 deny=all
unix denied both deny=anyunix
unix allowed both allow=anyunix deny=all
unix allowed ours deny=127.0.0.1
unix allowed both
EOF2
done

NBDKIT=$ours
expect_bad_parameter "allow" --filter=ip memory 1M allow=300.1.1.1
expect_bad_parameter "deny" --filter=ip memory 1M deny=10.0.0.0/33
expect_bad_parameter "allow: cannot parse number" --filter=ip memory 1M allow=uid:x
