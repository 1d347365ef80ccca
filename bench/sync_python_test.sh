#!/usr/bin/env bash
# sync's CPython rows at a small size, checked as facts: with a lock and
# with start-then-join every update survives (counter 0); Semaphore(5)
# never lets more than 5 in (peak exactly 5 with 23 tasks each holding it
# 20 ms: a process takes a few ms to start, so a shorter hold sees fewer); each queue
# delivers in its order (0 errors); the Manager().dict() counter ends
# between 50 (no update lost) and 100; every CPython row ok; the verdict's
# side-by-side lines. Then an interpreter that fails at start: every py_*
# row skipped with the reason, the C rows still ok, exit 0.
set -uo pipefail
bin="$1"
T="$TEST_TMPDIR"
fail=0
run=(--quick --reps 1 --warmup 0 --no-plot --tasks 20 --increments 20000 --items 500
  --sem-hold-us 20000 --hold-us 500)
mkdir -p "$T/a" "$T/b"
"$bin" "${run[@]}" --out "$T/a" >"$T/a.out" 2>"$T/a.err" || { echo "FAIL: exit $?: $(tail -3 "$T/a.err")"; fail=1; }
csv="$T/a/sync.csv"
# value EXECUTOR WORKLOAD METRIC: the row's value when ok, else "bad".
value() { awk -F, -v e="$1" -v w="$2" -v m="$3" '$2 == e && $3 == w && $8 == m { print ($11 == "ok" ? $9 : "bad:" $11 ":" $12) }' "$csv"; }
for e in py_thread py_process; do
  for w in lock join; do
    v=$(value "$e" "$w" final_counter)
    [ "$v" = "0" ] || { echo "FAIL: $e $w final_counter: '$v' (0 expected: no update lost)"; fail=1; }
  done
  v=$(value "$e" no_lock final_counter)
  case "$v" in '' | bad*) echo "FAIL: $e no_lock: '$v'"; fail=1 ;; esac
  v=$(value "$e" semaphore peak_concurrency)
  [ "$v" = "5" ] || { echo "FAIL: $e semaphore peak: '$v' (5 expected)"; fail=1; }
  v=$(value "$e" race lost_updates)
  case "$v" in '' | bad*) echo "FAIL: $e race: '$v'"; fail=1 ;; esac
done
for w in fifo lifo priority; do
  n=$(awk -F, -v w="$w" '$2 == "py_thread" && $3 == w && $8 == "order_errors" && $11 == "ok" && $9 == 0' "$csv" | wc -l)
  [ "$n" -eq 2 ] || { echo "FAIL: py_thread $w: $n rows with 0 order errors of 2 (1 and 2 producers)"; fail=1; }
done
v=$(value py_process manager_dict final_counter)
case "$v" in '' | bad*) echo "FAIL: manager_dict: '$v'"; fail=1 ;; *)
  awk -v v="$v" 'BEGIN { exit !(v >= 50 && v <= 100) }' || { echo "FAIL: manager_dict counter $v outside 50..100"; fail=1; } ;;
esac
bad=$(awk -F, '$2 ~ /^py_/ && $11 != "ok"' "$csv" | head -3)
[ -z "$bad" ] || { echo "FAIL: CPython rows not ok: $bad"; fail=1; }
for l in "E4 no lock: tutorial n=99" "E4 lock   : tutorial n=0" "E5 race, 2 workers: tutorial" "E6 Semaphore(5), 23 tasks: tutorial 5 at a time | C threads peak 5 | CPython threads 5, processes 5" "E12 priority: tutorial its order" "004 Manager().dict(), 50 processes"; do
  grep -qF "  $l" "$T/a.out" || { echo "FAIL: no verdict line '$l'"; fail=1; }
done
grep -q "CPython n=0 in" "$T/a.out" || { echo "FAIL: no CPython figure in the E4 lines"; fail=1; }
# An interpreter that fails at start.
"$bin" "${run[@]}" --python /bin/false --out "$T/b" >"$T/b.out" 2>"$T/b.err" || { echo "FAIL: /bin/false: exit $?: $(tail -2 "$T/b.err")"; fail=1; }
n=$(awk -F, '$2 ~ /^py_/ && ($11 != "skipped" || $12 !~ /could not start/)' "$T/b/sync.csv" | wc -l)
[ "$n" -eq 0 ] || { echo "FAIL: /bin/false: $n CPython rows not skipped with the reason"; fail=1; }
n=$(awk -F, '$2 ~ /^py_/' "$T/b/sync.csv" | wc -l)
[ "$n" -gt 0 ] || { echo "FAIL: /bin/false: the CPython rows are absent (must be skipped)"; fail=1; }
n=$(awk -F, '($2 == "thread" || $2 == "process") && $8 == "wall_s" && $11 == "ok"' "$T/b/sync.csv" | wc -l)
[ "$n" -gt 0 ] || { echo "FAIL: /bin/false: C rows lost"; fail=1; }
grep -q "CPython not measured: /bin/false could not start" "$T/b.out" || { echo "FAIL: /bin/false: no verdict line for the skip"; fail=1; }
grep -q "^python_skipped=" "$T/b/sync.meta" || { echo "FAIL: /bin/false: no python_skipped in meta"; fail=1; }
[ "$fail" -eq 0 ] && echo "sync: CPython rows ok; $(grep -F '004 Manager' "$T/a.out")"
exit "$fail"
