#!/usr/bin/env bash
# Runs the quick experiments the CI gate compares, into the directory $1:
# cpu_vs_io (speedup and efficiency per executor), spawn and switch (the
# `relative` cost ratios). Used by scripts/ci_gate.sh and
# scripts/update_baseline.sh, so the baseline and the gated run are made the
# same way. Expects the binaries built (bazel build //bench:all).
set -uo pipefail
out="$1"
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/bazel-bin/bench"
mkdir -p "$out"
status=0
# 10 repetitions: the U test needs 5 a side to reach p < 0.01, and more make
# a real change stand out of this machine's noise. Each line is one binary;
# exit 3 (a configuration failed) is reported, and fails the gate below.
"$bin/cpu_vs_io" --quick --no-python --reps 10 --no-plot --out "$out" >"$out/cpu_vs_io.log" 2>&1 || status=$?
"$bin/spawn" --quick --pinned-only --reps 10 --no-plot --out "$out" >"$out/spawn.log" 2>&1 || status=$?
"$bin/switch" --quick --reps 10 --no-plot --out "$out" >"$out/switch.log" 2>&1 || status=$?
exit "$status"
