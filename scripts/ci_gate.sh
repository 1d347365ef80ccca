#!/usr/bin/env bash
# The CI regression gate: runs the quick experiments into a temp directory and
# compares them with the committed baseline (results/baseline/) on the ratios
# measured inside one run only (speedup, efficiency, relative), never on
# absolute seconds. A `slower` verdict is confirmed by running that
# experiment again, up to twice: a burst of other work on a shared machine
# (another job taking a CPU for a minute) slows one run, a regression slows
# them all. The gate fails, with the report printed, only when every attempt
# was slower.
# Exit: 0 no regression, 4 regression, other: the runs or compare failed.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bazel build //bench:all >/dev/null 2>&1 || { echo "gate: bazel build //bench:all failed"; exit 1; }
status=0
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
  if [ "$rc" -eq 4 ]; then
    echo "gate: $e is slower than the baseline on all 3 attempts; the last report:"
    cat "$dir/$e.md"
    status=4
  elif [ "$rc" -ne 0 ]; then
    echo "gate: compare failed for $e (exit $rc)"
    [ "$status" -eq 4 ] || status=$rc
  fi
done
[ "$status" -eq 0 ] && echo "gate: no regression"
exit "$status"
