#!/usr/bin/env bash
# Draws the trend of the gated metrics (speedup, efficiency, relative) over
# the runs recorded in a history CSV (written by any bench binary with
# --history FILE), each as a ratio to the committed baseline, so the
# baseline is the line at 1.
#   scripts/trend.sh [HISTORY.csv] [OUT_DIR]
# defaults: results/history.csv, results/. Writes OUT_DIR/trend.png and .svg.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
hist="${1:-$top/results/history.csv}"
out="${2:-$top/results}"
[ -r "$hist" ] || { echo "trend: cannot read '$hist': run a bench binary with --history $hist first" >&2; exit 2; }
[ -d "$out" ] && [ -w "$out" ] || { echo "trend: '$out' is not a writable directory" >&2; exit 2; }
data=$(mktemp)
trap 'rm -f "$data"' EXIT
# Python's csv module reads the RFC 4180 quoting the harness writes.
python3 - "$hist" "$top/results/baseline" "$data" <<'PY'
import csv, glob, os, sys
hist, basedir, out = sys.argv[1:4]
gated = {"speedup", "efficiency", "relative"}
key = lambda r: (r["experiment"], r["executor"], r["workload"], r["workers"], r["pin"], r["metric"])
base = {}
for f in glob.glob(os.path.join(basedir, "*.summary.csv")):
    for r in csv.DictReader(open(f, newline="")):
        if r["metric"] in gated and r["median"]:
            base[key(r)] = float(r["median"])
runs, series = [], {}
for r in csv.DictReader(open(hist, newline="")):
    if r["metric"] not in gated or not r["median"] or key(r) not in base or base[key(r)] == 0:
        continue
    run = (r["git_revision"], r["utc"])
    if run not in runs:
        runs.append(run)
    series.setdefault(key(r), []).append((runs.index(run) + 1, float(r["median"]) / base[key(r)]))
blocks = []
for k in sorted(series):
    lines = ['"%s %s %s w=%s %s"' % (k[1], k[2], k[5], k[3], k[4])]
    lines += ["%d %.6g" % (x, y) for x, y in series[k]]
    blocks.append("\n".join(lines) + "\n")
if not blocks:
    sys.exit("trend: no gated metric (speedup, efficiency, relative) of the history has a baseline in " + basedir)
with open(out, "w") as f:
    # gnuplot's index: blocks separated by two blank lines, none after the last.
    f.write("\n\n".join(blocks))
print(len(series), "series over", len(runs), "runs")
PY
gnuplot -e "datafile='$data'; outpng='$out/trend.png'; outsvg='$out/trend.svg'" "$top/plots/trend.gp"
echo "trend: wrote $out/trend.png and $out/trend.svg"
