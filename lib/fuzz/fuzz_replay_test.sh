#!/usr/bin/env bash
# Replays every file of lib/fuzz/regressions/ through its target (the name
# up to the first '_' names it: csv_* -> csv_fuzz) and every seed of
# lib/fuzz/corpus/TARGET/ through TARGET; a target aborts on a broken
# property, so a regression that comes back fails here.
set -uo pipefail
fail=0 n=0
here="$(dirname "$0")"
[ -d "$here/regressions" ] || here="${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-concbench}/lib/fuzz"
declare -A bin
for b in "$@"; do t=$(basename "$b"); bin[${t%_replay}]="$b"; done
for f in "$here"/regressions/*; do
  t="${f##*/}"; t="${t%%_*}_fuzz"
  [ -n "${bin[$t]:-}" ] || { echo "FAIL: $f: no target $t"; fail=1; continue; }
  "${bin[$t]}" "$f" >/dev/null 2>"$TEST_TMPDIR/err" || { echo "FAIL: $f through $t:"; cat "$TEST_TMPDIR/err"; fail=1; }
  n=$((n + 1))
done
for t in "${!bin[@]}"; do
  for f in "$here"/corpus/"$t"/*; do
    [ -e "$f" ] || continue
    "${bin[$t]}" "$f" >/dev/null 2>"$TEST_TMPDIR/err" || { echo "FAIL: $f through $t:"; cat "$TEST_TMPDIR/err"; fail=1; }
    n=$((n + 1))
  done
done
[ "$n" -ge 5 ] || { echo "FAIL: only $n inputs found"; exit 1; }
[ "$fail" -eq 0 ] && echo "replayed $n inputs: every property holds"
exit "$fail"
