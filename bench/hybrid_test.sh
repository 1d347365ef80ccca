#!/usr/bin/env bash
# hybrid end to end at small sizes: 2 processes x 3 threads x 50 coroutines
# (300 tasks) on all three executors, every task run exactly once (the
# measure checks each slot) and all alive at once; the verdict's formula
# line (this machine's cores and the tutorial's slip); the threads-alone
# row skipped, with the kernel's numbers, when the count cannot fit; a bad
# count refused with one line.
set -uo pipefail
bin="$1"
T="$TEST_TMPDIR"
fail=0
mkdir -p "$T/a" "$T/b" "$T/c"
"$bin" --processes 2 --threads 3 --coros 50 --sleep-ms 200 --reps 2 --warmup 0 --no-plot --out "$T/a" >"$T/a.out" 2>"$T/a.err" ||
  { echo "FAIL: exit $?: $(tail -3 "$T/a.err")"; fail=1; }
csv="$T/a/hybrid.csv"
for e in hybrid thread coroutine; do
  k=$(awk -F, -v e="$e" '$2 == e && $5 == 300 && $8 == "peak_alive" && $9 == 300 && $11 == "ok"' "$csv" | wc -l)
  [ "$k" -eq 2 ] || { echo "FAIL: $e: $k rows of 2 with all 300 tasks alive at once"; fail=1; }
  k=$(awk -F, -v e="$e" '$2 == e && $8 == "wall_s" && $9 >= 0.2 && $11 == "ok"' "$csv" | wc -l)
  [ "$k" -eq 2 ] || { echo "FAIL: $e: $k ok wall_s rows of 2 (at least the 200 ms sleep)"; fail=1; }
done
grep -q "2 x 3 x 50\|the formula for this machine's" "$T/a.out" || { echo "FAIL: no formula line"; fail=1; }
grep -qF "18000, is an arithmetic slip: (8+1) x (8 x 5) x 500 = 180000" "$T/a.out" || { echo "FAIL: no slip line"; fail=1; }
# More threads than the kernel allows (the lowest of pid_max, threads-max and
# max_map_count/2, as the binary sees them): skipped with the numbers.
pm=$(cat /proc/sys/kernel/pid_max)
lim=$(awk -v a="$pm" -v b="$(cat /proc/sys/kernel/threads-max)" -v c="$(cat /proc/sys/vm/max_map_count)" 'BEGIN { m = a; if (b < m) m = b; if (c / 2 < m) m = int(c / 2); print m }')
th=$((lim / 100000 + 1))
"$bin" --processes 1 --threads "$th" --coros 100000 --sleep-ms 1 --reps 1 --warmup 0 --executors thread --no-plot --out "$T/b" >"$T/b.out" 2>&1 || echo "(exit $?: $(tail -2 "$T/b.out"))"
row=$(awk -F, '$2 == "thread" && $8 == "wall_s"' "$T/b/hybrid.csv")
case "$row" in *,skipped,*"threads: over pid_max $pm,"*) ;; *) echo "FAIL: thread row past pid_max: $row"; fail=1 ;; esac
"$bin" --coros 0 --out "$T/c" >/dev/null 2>"$T/c.err"
rc=$?
[ "$rc" -eq 2 ] && [ "$(wc -l <"$T/c.err")" -eq 1 ] && grep -q -- "--coros" "$T/c.err" || { echo "FAIL: --coros 0: exit $rc: $(cat "$T/c.err")"; fail=1; }
# --tutorial: the tutorial's 5 x 20 x 500, its expected duration first, the
# time it took at the end; refused with --quick, in one line.
mkdir -p "$T/d"
"$bin" --tutorial --executors hybrid --no-plot --out "$T/d" >"$T/d.out" 2>"$T/d.err" || { echo "FAIL: --tutorial: exit $?: $(tail -2 "$T/d.err")"; fail=1; }
head -1 "$T/d.out" | grep -q '^hybrid --tutorial: the tutorials.* own sizes; expected to take about [0-9]* s on this machine' || { echo "FAIL: --tutorial's first line: $(head -1 "$T/d.out")"; fail=1; }
grep -q -- '^--tutorial: took [0-9]* s, estimated [0-9]* s' "$T/d.out" || { echo "FAIL: --tutorial: no closing line"; fail=1; }
k=$(awk -F, '$2 == "hybrid" && $5 == 50000 && $8 == "peak_alive" && $9 == 50000 && $11 == "ok"' "$T/d/hybrid.csv" | wc -l)
[ "$k" -eq 1 ] || { echo "FAIL: --tutorial: the hybrid did not hold 50000 tasks at once ($k rows)"; fail=1; }
grep -q '^tutorial=1$' "$T/d/hybrid.meta" || { echo "FAIL: --tutorial: meta"; fail=1; }
"$bin" --tutorial --quick --out "$T/d" >/dev/null 2>"$T/e.err"
rc=$?
[ "$rc" -eq 2 ] && [ "$(wc -l <"$T/e.err")" -eq 1 ] && grep -q -- "--tutorial: not with --quick" "$T/e.err" || { echo "FAIL: --tutorial --quick: exit $rc: $(cat "$T/e.err")"; fail=1; }
[ "$fail" -eq 0 ] && echo "hybrid: 300 tasks held at once on every executor; $(grep -F 'hybrid    ' "$T/a.out")"
exit "$fail"
