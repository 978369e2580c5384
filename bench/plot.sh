#!/bin/bash
# Draws each bench/results/NAME.tsv (written by the bench scripts through
# record in lib.sh) as docs/plots/NAME.png: for every workload and metric,
# our figure as a multiple of Debian's nbdkit (1.0, the dashed line), so
# rows of different units share one chart.  Higher is better for rates,
# lower for CPU per request; each bar's label says which.
#
# Usage: bench/plot.sh [RESULTS.tsv ...]   (default: every bench/results/*.tsv)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot is needed (apt-get install gnuplot-nox)" >&2; exit 1; }
mkdir -p docs/plots
(($# > 0)) || set -- bench/results/*.tsv
for results in "$@"; do
    name=$(basename "$results" .tsv)
    data=$(mktemp)
    # gnuplot reads: label, ratio.  Lower-is-better metrics are marked.
    awk -F'\t' 'NR > 2 && $4 + 0 > 0 {
        better = ($2 ~ /CPU|us|ms|RSS|MiB RSS|time/) ? "lower" : "higher"
        printf "\"%s %s (%s better)\" %.3f\n", $1, $2, better, $3 / $4
    }' "$results" >"$data"
    title=$(sed -n '1s/^# //p' "$results")
    # Room on the right for the labels.
    xmax=$(awk '{ if ($NF > m) m = $NF } END { printf "%.2f", (m > 1 ? m : 1) * 1.2 }' "$data")
    gnuplot <<GNUPLOT
set terminal pngcairo size 900,$((120 + 28 * $(wc -l <"$data"))) font "sans,10"
set output "docs/plots/$name.png"
set title "$name: ours as a multiple of Debian's nbdkit ($title)"
set style fill solid 0.8
set yrange [*:*] reverse
set ytics nomirror
set xlabel "ours / nbdkit"
set xrange [0:$xmax]
set grid xtics
unset key
set arrow from 1, graph 0 to 1, graph 1 nohead dashtype 2 lc rgb "black"
plot "$data" using (\$2 * 0.5):0:(\$2 * 0.5):(0.35):yticlabels(1) with boxxyerror lc rgb "#3a7dc9", \
     "$data" using 2:0:(sprintf(" %.2fx", \$2)) with labels left
GNUPLOT
    rm -f "$data"
    echo "docs/plots/$name.png"
done
