#!/bin/bash
# Benchmark in the guest tier's TCG guest (not a test): 4k random reads at
# queue depth 32 from guest-check, one connection over a Unix socket,
# through our blkio plugin (nvme-io_uring on /dev/ng0n1 when this build
# has it, io_uring on /dev/nvme0n1) and through Debian's `nbdkit file
# /dev/nvme0n1`, one after the other in the same guest, each after
# dropping the guest's page cache.  The device is QEMU's emulated NVMe on
# a 64 MiB raw image; under TCG absolute figures mean little, so the
# ratios to Debian's nbdkit are what to compare.
#
# Usage: bench/guest.sh
# Environment: NBDKIT (ours, default build/nbdkit), BENCH_SECONDS per run
# (default 10), BENCH_ROUNDS (runs of each server, in turn, default 3:
# the host's load moves between runs); run-guest.sh's GUEST_* variables.
source "$(dirname "$0")/lib.sh"
[[ -x $NBDKIT ]] || fail "$NBDKIT is not built (build it, or set NBDKIT)"
seconds=${BENCH_SECONDS:-10}
rounds=${BENCH_ROUNDS:-3}

echo "ours:   $NBDKIT ($("$NBDKIT" --version | head -1))"
echo "nbdkit: /usr/bin/nbdkit ($(/usr/bin/nbdkit --version | head -1)), file plugin"
echo "host: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'); guest: 2 vCPUs under TCG"

# Three servers a round, on top of the tier's own budget.
output=$(GUEST_TIMEOUT=${GUEST_TIMEOUT:-$((240 + 3 * rounds * seconds))} \
    GUEST_BENCH_SECONDS=$seconds GUEST_BENCH_ROUNDS=$rounds GUEST_KEEP=$TEST_TMPDIR/guest \
    "$TESTS_DIR/guest/run-guest.sh" 2>&1) || { echo "$output"; fail "the guest run failed"; }
grep '^benchmark' <<<"$output"

# Lines "benchmark NAME IOPS IOPS" are each server's figure over its rounds.
reference=$(awk '$1 == "benchmark" && $2 == "debian-file" && $4 == "IOPS" { print $3 }' <<<"$output")
while read -r name iops; do
    record "4k randread QD32 ($name)" "IOPS in a TCG guest" "$iops" "$reference"
done < <(awk '$1 == "benchmark" && $2 ~ /^ours-/ && $4 == "IOPS" { print $2, $3 }' <<<"$output")
