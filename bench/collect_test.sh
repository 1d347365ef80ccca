#!/usr/bin/env bash
# collect end to end: every row ok on the 4 pools and both shapes; waiting
# for each result makes the run serial: submit_wait lasts at least T sleeps
# (20 x 5 ms), which no concurrent run can, and longer than submit_all; the
# verdict's lines and facts; --pool 0 refused with one line.
set -uo pipefail
bin="$1"
T="$TEST_TMPDIR"
fail=0
mkdir -p "$T/a" "$T/b"
"$bin" --reps 2 --warmup 0 --sleep-ms 5 --no-plot --out "$T/a" --export "json=$T/a/x.json" >"$T/a.out" 2>"$T/a.err" ||
  { echo "FAIL: exit $?: $(tail -3 "$T/a.err")"; fail=1; }
csv="$T/a/collect.csv"
for e in thread_pool process_pool py_thread_pool py_process_pool; do
  for w in submit_all submit_wait; do
    k=$(awk -F, -v e="$e" -v w="$w" '$2 == e && $3 == w && $8 == "wall_s" && $11 == "ok"' "$csv" | wc -l)
    [ "$k" -eq 2 ] || { echo "FAIL: $e $w: $k ok rows of 2"; fail=1; }
  done
  bad=$(awk -F, -v e="$e" '$2 == e && $3 == "submit_wait" && $8 == "wall_s" && $9 < 0.1' "$csv")
  [ -z "$bad" ] || { echo "FAIL: $e submit_wait shorter than 20 sleeps of 5 ms: $bad"; fail=1; }
  all=$(awk -F, -v e="$e" '$2 == e && $3 == "submit_all" && $8 == "wall_s" { if ($9 > m) m = $9 } END { print m + 0 }' "$csv")
  wait=$(awk -F, -v e="$e" '$2 == e && $3 == "submit_wait" && $8 == "wall_s" { if (m == "" || $9 < m) m = $9 } END { print m + 0 }' "$csv")
  awk -v a="$all" -v w="$wait" 'BEGIN { exit !(w > a) }' || { echo "FAIL: $e: submit_wait $wait not longer than submit_all $all"; fail=1; }
  grep -qF "  $e " "$T/a.out" || { echo "FAIL: no verdict line for $e"; fail=1; }
  grep -q "\"e_result/$e/wait_over_all\"" "$T/a/x.json" || { echo "FAIL: no fact for $e"; fail=1; }
done
"$bin" --pool 0 --out "$T/b" >/dev/null 2>"$T/b.err"
rc=$?
[ "$rc" -eq 2 ] && [ "$(wc -l <"$T/b.err")" -eq 1 ] && grep -q -- "--pool" "$T/b.err" ||
  { echo "FAIL: --pool 0: exit $rc: $(cat "$T/b.err")"; fail=1; }
[ "$fail" -eq 0 ] && echo "collect: all rows ok; $(grep -F '  py_thread_pool ' "$T/a.out")"
exit "$fail"
