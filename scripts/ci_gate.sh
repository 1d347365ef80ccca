#!/usr/bin/env bash
# The CI regression gate: runs the quick experiments into a temp directory and
# compares them with the committed baseline (results/baseline/) on the ratios
# measured inside one run only (speedup, efficiency, relative), never on
# absolute seconds. A `slower` verdict fails the gate with the report printed.
# Exit: 0 no regression, 4 regression, other: the runs or compare failed.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bazel build //bench:all >/dev/null 2>&1 || { echo "gate: bazel build //bench:all failed"; exit 1; }
if ! scripts/quick_runs.sh "$out"; then
  echo "gate: a quick run failed:"; tail -n 30 "$out"/*.log; exit 1
fi
status=0
for e in cpu_vs_io spawn switch; do
  echo "== gate: $e (baseline results/baseline/$e.csv)"
  bazel-bin/bench/compare "results/baseline/$e.csv" "$out/$e.csv" \
      --metrics speedup,efficiency,relative --report "$out/$e.md"
  rc=$?
  if [ "$rc" -eq 4 ]; then
    echo "gate: $e is slower than the baseline; the report:"; cat "$out/$e.md"; status=4
  elif [ "$rc" -ne 0 ]; then
    echo "gate: compare failed for $e (exit $rc)"; [ "$status" -eq 4 ] || status=$rc
  fi
done
[ "$status" -eq 0 ] && echo "gate: no regression"
exit "$status"
