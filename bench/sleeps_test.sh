#!/usr/bin/env bash
# sleeps end to end at a small unit: every row ok on the 4 executors and
# both workloads; the seeded draws are the same in C and in CPython (one
# longest draw for every run of every executor); the fresh draws are whole
# units 1-3 and each run's longest_is_U rows add up to 1; the verdict's
# lines and facts; an interpreter that is not there skips the CPython rows
# only.
set -uo pipefail
bin="$1"
T="$TEST_TMPDIR"
fail=0
run=(--reps 4 --warmup 0 --unit-ms 5 --no-plot)
mkdir -p "$T/a" "$T/b"
"$bin" "${run[@]}" --out "$T/a" --export "json=$T/a/x.json" >"$T/a.out" 2>"$T/a.err" ||
  { echo "FAIL: exit $?: $(tail -3 "$T/a.err")"; fail=1; }
csv="$T/a/sleeps.csv"
for e in thread process py_thread py_process; do
  for w in seeded independent; do
    k=$(awk -F, -v e="$e" -v w="$w" '$2 == e && $3 == w && $8 == "wall_s" && $11 == "ok" && $9 > 0.005' "$csv" | wc -l)
    [ "$k" -eq 4 ] || { echo "FAIL: $e $w: $k ok wall_s rows of 4"; fail=1; }
  done
done
seeded=$(awk -F, '$3 == "seeded" && $8 == "longest_draw" { print $9 }' "$csv" | sort -u)
[ "$(printf '%s\n' "$seeded" | grep -c .)" -eq 1 ] || { echo "FAIL: seeded longest draws differ: $seeded"; fail=1; }
bad=$(awk -F, '$3 == "independent" && $8 == "longest_draw" && !($9 == 1 || $9 == 2 || $9 == 3)' "$csv")
[ -z "$bad" ] || { echo "FAIL: independent draws: $bad"; fail=1; }
# Per executor and repetition, the three shares sum to 1.
sums=$(awk -F, '$3 == "independent" && $8 ~ /^longest_is_/ { s[$2 "," $7] += $9 } END { for (k in s) print s[k] }' "$csv" | sort -u)
[ "$sums" = "1" ] || { echo "FAIL: longest_is_* per run sum to $sums"; fail=1; }
for l in "seeded (the same draws): C " "seeded (the same draws): CPython" "independent draws: CPython" "the tutorial's 1.24 s: its draws explain 1.00 s"; do
  grep -qF "$l" "$T/a.out" || { echo "FAIL: no verdict line '$l'"; fail=1; }
done
for f in e2/C/startup_s e2/CPython/startup_s e2/CPython/mean_longest_draw e2/draws_explain_s; do
  grep -q "\"$f\"" "$T/a/x.json" || { echo "FAIL: no fact $f in the json export"; fail=1; }
done
"$bin" "${run[@]}" --reps 1 --python /no/such/python3 --out "$T/b" >/dev/null 2>&1
rc=$?
[ "$rc" -eq 0 ] || { echo "FAIL: without python: exit $rc"; fail=1; }
k=$(awk -F, '$2 ~ /^py_/ && $11 == "skipped" && $12 ~ /not found/' "$T/b/sleeps.csv" | wc -l)
[ "$k" -eq 8 ] || { echo "FAIL: without python: $k skipped rows of 8"; fail=1; }
k=$(awk -F, '$2 == "thread" && $8 == "wall_s" && $11 == "ok"' "$T/b/sleeps.csv" | wc -l)
[ "$k" -eq 2 ] || { echo "FAIL: without python: $k C thread rows of 2"; fail=1; }
[ "$fail" -eq 0 ] && echo "sleeps: all rows ok; $(grep -F 'seeded (the same draws): CPython' "$T/a.out")"
exit "$fail"
