#!/bin/bash
# TLS benchmark (not a test): 1 MiB sequential writes and reads with
# nbdcopy over TLS, PSK and X.509, against `memory 1G` served by Debian's
# nbdkit and by ours, with the same keys, in the same run.  Prints MiB/s
# for each and ours / nbdkit; with -o FILE also writes a Markdown report.
#
# Usage: bench/tls.sh [-o REPORT.md]
# Environment: NBDKIT (ours, default build/nbdkit), REFERENCE_NBDKIT
# (default /usr/bin/nbdkit), COPY_SIZE per run (default 512M; the data file
# lives in /dev/shm meanwhile), RUNS (best of, default 3), CONNECTIONS and
# REQUESTS (nbdcopy's, default 1 and 16).
source "$(dirname "$0")/lib.sh"
require_commands nbdcopy certtool psktool
[[ -x $NBDKIT ]] || fail "$NBDKIT is not built (build it, or set NBDKIT)"

ours_nbdkit=$NBDKIT
reference_nbdkit=${REFERENCE_NBDKIT:-/usr/bin/nbdkit}
copy_size=${COPY_SIZE:-512M}
runs=${RUNS:-3}
connections=${CONNECTIONS:-1}
requests=${REQUESTS:-16}
report=
[[ ${1:-} != -o ]] || report=$2

creds=$TEST_TMPDIR/creds
"$(dirname "$0")/../tests/tls/make-credentials.sh" "$creds"
# Random data, so that nothing is skipped as zeroes; on tmpfs so the
# source costs no disk I/O.
data=$(mktemp /dev/shm/nbdkit-tls-bench.XXXXXX)
on_exit "rm -f '$data'"
head -c "$copy_size" /dev/urandom >"$data"
copy_mib=$(($(stat -c %s "$data") / 1048576))

credential_option() {  # MODE
    case $1 in
        psk) echo "--tls-psk=$creds/keys.psk" ;;
        x509) echo "--tls-certificates=$creds/pki" ;;
    esac
}

tls_uri() {  # MODE (for $server_sock)
    case $1 in
        psk) echo "nbds+unix://alice@/?socket=$server_sock&tls-psk-file=$creds/keys.psk" ;;
        x509) echo "nbds+unix:///?socket=$server_sock&tls-certificates=$creds/client-pki" ;;
    esac
}

# copy_figures SOURCE DESTINATION: "MIB_PER_SECOND CPU_SECONDS_PER_GIB":
# the best of $runs copies, and the server's CPU time over all of them per
# GiB copied (steadier than throughput on a busy machine).
copy_figures() {
    local best=0 run start end ticks_before ticks_after
    ticks_before=$(process_cpu_ticks "$server_pid")
    for ((run = 0; run < runs; run++)); do
        start=$(date +%s.%N)
        nbdcopy --connections="$connections" --requests="$requests" --request-size=1048576 "$1" "$2"
        end=$(date +%s.%N)
        best=$(awk -v mib="$copy_mib" -v s="$start" -v e="$end" -v best="$best" \
            'BEGIN { rate = mib / (e - s); printf "%.0f", (rate > best ? rate : best) }')
    done
    ticks_after=$(process_cpu_ticks "$server_pid")
    awk -v best="$best" -v ticks=$((ticks_after - ticks_before)) -v hz="$CLOCK_TICKS_PER_SECOND" \
        -v gib="$((runs * copy_mib))" 'BEGIN { printf "%s %.2f\n", best, ticks / hz / (gib / 1024) }'
}

declare -A mib_per_second cpu_per_gib
for mode in psk x509; do
    for server in reference ours; do
        binary=${server}_nbdkit
        NBDKIT=${!binary} start_server_unix --tls=require "$(credential_option "$mode")" memory 1G
        # Writes first: never-written memory reads back as holes, which
        # nbdcopy would skip.
        read -r "mib_per_second[$server,$mode,write]" "cpu_per_gib[$server,$mode,write]" \
            < <(copy_figures "$data" "$(tls_uri "$mode")")
        read -r "mib_per_second[$server,$mode,read]" "cpu_per_gib[$server,$mode,read]" \
            < <(copy_figures "$(tls_uri "$mode")" null:)
        stop_server "$server_pid"
    done
done

reference_version=$("$reference_nbdkit" --version | awk '{ print $2 }')
table=$(
    echo "| TLS | 1 MiB sequential | nbdkit $reference_version MiB/s | ours MiB/s | ours / nbdkit | nbdkit server CPU s/GiB | ours server CPU s/GiB |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    for mode in psk x509; do
        for direction in write read; do
            reference=${mib_per_second[reference,$mode,$direction]}
            ours=${mib_per_second[ours,$mode,$direction]}
            echo "| $mode | $direction | $reference | $ours | $(ratio "$ours" "$reference") |" \
                "${cpu_per_gib[reference,$mode,$direction]} | ${cpu_per_gib[ours,$mode,$direction]} |"
        done
    done
)
machine="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) CPUs, Linux $(uname -r)"
settings="nbdcopy --connections=$connections --requests=$requests --request-size=1M, $copy_mib MiB per copy, best of $runs, Unix socket, memory 1G"
echo "$table"
echo "Machine: $machine"
echo "Settings: $settings"

if [[ -n $report ]]; then
    cat >"$report" <<EOT
# TLS throughput

Produced by \`bench/tls.sh -o $report\` on $(date -u +%Y-%m-%d).

- Machine: $machine
- $(gnutls-cli --version 2>/dev/null | head -1), libnbd $(nbdcopy --version | awk '/^libnbd/ { print $2 }')
- Settings: $settings
- The client (nbdcopy) runs on the same machine, so client and server
  share the CPUs; the client's own encryption is part of every figure.

$table
EOT
    echo "wrote $report"
fi
