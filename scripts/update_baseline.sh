#!/usr/bin/env bash
# Regenerates results/baseline/ from this machine: the quick runs CI gates on
# (scripts/quick_runs.sh). Run it on the machine class CI uses, on a quiet
# machine, after a change that moves the ratios on purpose (a faster pool, a
# new executor); commit the result with the reason in the message.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bazel build //bench:all
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
scripts/quick_runs.sh "$tmp"
mkdir -p results/baseline
for e in $(cut -d' ' -f1 bazel-bin/bench/gated_experiments.txt); do
  cp "$tmp/$e.csv" "$tmp/$e.summary.csv" "$tmp/$e.meta" results/baseline/
done
echo "baseline: results/baseline/ updated from $(hostname); review with git diff and commit"
