#!/usr/bin/env bash
# Runs the quick experiments the CI gate compares, into the directory $1: the
# experiments bazel/experiments.bzl marks as gated (cpu_vs_io: speedup and
# efficiency per executor; spawn and switch: the `relative` cost ratios),
# each with the flags listed there; or only the gated experiments named
# after it. Used by scripts/ci_gate.sh and scripts/update_baseline.sh, so the
# baseline and the gated run are made the same way. Each run also writes its
# github-action-benchmark arrays (E.gab-smaller.json, E.gab-bigger.json; the
# GitHub workflow feeds them to the action). Expects the binaries
# built (bazel build //bench:all, which also writes the list).
#   quick_runs.sh DIR [EXPERIMENT...]
set -uo pipefail
out="$1"
shift
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/bazel-bin/bench"
list="$bin/gated_experiments.txt"
[ -r "$list" ] || { echo "quick_runs: $list missing: run bazel build //bench:all first" >&2; exit 1; }
mkdir -p "$out"
gated=$(cut -d' ' -f1 "$list" | tr '\n' ' ')
[ $# -gt 0 ] || set -- $gated
status=0
# 10 repetitions: the U test needs 5 a side to reach p < 0.01, and more make
# a real change stand out of this machine's noise. Exit 3 (a configuration
# failed) is passed on and fails the gate.
for e in "$@"; do
  line=$(grep -m1 "^$e " "$list") || {
    echo "quick_runs: unknown experiment '$e': expected one of: $gated" >&2; exit 2; }
  read -r -a args <<<"${line#* * }" # NAME METRICS FLAGS...
  "$bin/$e" "${args[@]}" --no-plot --out "$out" \
    --export gab-smaller="$out/$e.gab-smaller.json" --export gab-bigger="$out/$e.gab-bigger.json" \
    >"$out/$e.log" 2>&1 || status=$?
done
exit "$status"
