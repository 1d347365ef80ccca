#!/usr/bin/env bash
# The CI regression gate: runs the quick experiments into a temp directory and
# compares them with the committed baseline (results/baseline/) on the ratios
# measured inside one run only (speedup, efficiency, relative), never on
# absolute seconds. A `slower` verdict is confirmed by running that
# experiment again, up to twice: a burst of other work on a shared machine
# (another job taking a CPU for a minute) slows one run, a regression slows
# them all. The gate fails, with the report printed, only when every attempt
# was slower.
#
# With DIR (a new or empty folder) everything is kept there instead, for the
# GitHub workflow to upload: each attempt's runs, logs and compare report in
# DIR/E.TRY/, and from each experiment's last attempt DIR/report.md (the
# compare reports, one after the other) and DIR/gab-smaller.json and
# DIR/gab-bigger.json (the runs' github-action-benchmark arrays, merged).
#   ci_gate.sh [DIR]
# Exit: 0 no regression, 4 regression, 2 bad usage, other: the runs or
# compare failed.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -le 1 ] || { echo "usage: scripts/ci_gate.sh [DIR]" >&2; exit 2; }
if [ $# -eq 1 ]; then
  mkdir -p "$1" && [ -z "$(ls -A "$1")" ] || { echo "gate: $1: not a new or empty folder" >&2; exit 2; }
  out=$(cd "$1" && pwd)
else
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
cd "$top"
bazel build //bench:all >/dev/null 2>&1 || { echo "gate: bazel build //bench:all failed"; exit 1; }
status=0
stems=() # each experiment's last attempt: FOLDER/E
for e in $(cut -d' ' -f1 bazel-bin/bench/gated_experiments.txt); do
  for try in 1 2 3; do
    dir="$out/$e.$try"
    echo "== gate: $e, attempt $try (load $(cut -d' ' -f1-3 /proc/loadavg)); baseline results/baseline/$e.csv"
    if ! scripts/quick_runs.sh "$dir" "$e"; then
      echo "gate: the quick $e run failed:"; tail -n 30 "$dir/$e.log"; exit 1
    fi
    metrics=$(awk -v e="$e" '$1 == e { print $2 }' bazel-bin/bench/gated_experiments.txt)
    bazel-bin/bench/compare "results/baseline/$e.csv" "$dir/$e.csv" \
        --metrics "$metrics" --report "$dir/$e.md"
    rc=$?
    [ "$rc" -eq 4 ] || break
    [ "$try" -lt 3 ] && echo "gate: $e slower than the baseline on attempt $try; running it again to confirm"
  done
  stems+=("$dir/$e")
  if [ "$rc" -eq 4 ]; then
    echo "gate: $e is slower than the baseline on all 3 attempts; the last report:"
    cat "$dir/$e.md"
    status=4
  elif [ "$rc" -ne 0 ]; then
    echo "gate: compare failed for $e (exit $rc)"
    [ "$status" -eq 4 ] || status=$rc
  fi
done
if [ $# -eq 1 ]; then
  for f in "${stems[@]}"; do [ ! -r "$f.md" ] || { cat "$f.md"; echo; }; done >"$out/report.md"
  # github-action-benchmark reads one file per direction: the experiments'
  # own exports (quick_runs.sh --export gab-*) as one array each.
  python3 - "$out" "${stems[@]}" <<'PY' || { echo "gate: merging the gab-* exports failed"; exit 1; }
import json, sys
for k in ("smaller", "bigger"):
    rows = []
    for stem in sys.argv[2:]:
        with open("%s.gab-%s.json" % (stem, k)) as f:
            rows += json.load(f)
    with open("%s/gab-%s.json" % (sys.argv[1], k), "w") as f:
        json.dump(rows, f, indent=1)
PY
  echo "gate: kept in $out: report.md, gab-smaller.json, gab-bigger.json, a folder per attempt"
fi
[ "$status" -eq 0 ] && echo "gate: no regression"
exit "$status"
