#!/usr/bin/env bash
# Runs the quick experiments the CI gate compares, into the directory $1:
# cpu_vs_io (speedup and efficiency per executor), spawn and switch (the
# `relative` cost ratios); or only the experiments named after it. Used by
# scripts/ci_gate.sh and scripts/update_baseline.sh, so the baseline and the
# gated run are made the same way. Expects the binaries built
# (bazel build //bench:all).
#   quick_runs.sh DIR [cpu_vs_io] [spawn] [switch]
set -uo pipefail
out="$1"
shift
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/bazel-bin/bench"
mkdir -p "$out"
[ $# -gt 0 ] || set -- cpu_vs_io spawn switch
status=0
# 10 repetitions: the U test needs 5 a side to reach p < 0.01, and more make
# a real change stand out of this machine's noise. Exit 3 (a configuration
# failed) is passed on and fails the gate.
for e in "$@"; do
  case "$e" in
    cpu_vs_io) args=(--quick --no-python --reps 10) ;;
    spawn) args=(--quick --pinned-only --reps 10) ;;
    switch) args=(--quick --reps 10) ;;
    *) echo "quick_runs: unknown experiment '$e': expected cpu_vs_io, spawn or switch" >&2; exit 2 ;;
  esac
  "$bin/$e" "${args[@]}" --no-plot --out "$out" >"$out/$e.log" 2>&1 || status=$?
done
exit "$status"
