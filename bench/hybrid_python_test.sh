#!/usr/bin/env bash
# hybrid's CPython rows at a tiny size: 2 processes x 2 threads x 5
# coroutines (20 tasks of 50 ms) on py_hybrid, py_thread, py_coroutine and
# py_gevent (asked for: not a default), every row ok with all 20 tasks alive
# at once (py_gevent may instead be skipped naming gevent, where it does not
# import); the py rows keyed as the C rows (workers 4, 20, 1); the verdict's
# "E11 in CPython" lines beside the C figures. Then an interpreter that fails
# at start (--python /bin/false): every py row skipped with the reason, the C
# rows ok, exit 0. And --no-python: no py row at all.
set -uo pipefail
bin="$1"
T="$TEST_TMPDIR"
fail=0
run=(--processes 2 --threads 2 --coros 5 --sleep-ms 50 --reps 1 --warmup 0 --no-plot)
all=hybrid,thread,coroutine,py_hybrid,py_thread,py_coroutine,py_gevent
mkdir -p "$T/a" "$T/b" "$T/c"
"$bin" "${run[@]}" --executors "$all" --out "$T/a" >"$T/a.out" 2>"$T/a.err" ||
  { echo "FAIL: exit $?: $(tail -3 "$T/a.err")"; fail=1; }
csv="$T/a/hybrid.csv"
# row EXECUTOR METRIC: "workers,value,status,detail" of the row.
row() { awk -F, -v e="$1" -v m="$2" '$2 == e && $3 == "sleep" && $8 == m { print $4 "," $9 "," $11 "," $12 }' "$csv"; }
for e in py_hybrid:4 py_thread:20 py_coroutine:1 py_gevent:1; do
  x=${e%%:*} w=${e##*:}
  r=$(row "$x" peak_alive)
  if [ "$x" = py_gevent ]; then
    case "$r" in *,skipped,gevent*) echo "(py_gevent skipped: ${r#*,*,skipped,})"; continue ;; esac
  fi
  [ "$r" = "$w,20,ok," ] || { echo "FAIL: $x peak_alive: '$r' (workers $w, 20 alive, ok expected)"; fail=1; }
  for m in wall_s startup_s rss_kib; do
    r=$(row "$x" "$m")
    case "$r" in "$w,"*",ok,") ;; *) echo "FAIL: $x $m: '$r'"; fail=1 ;; esac
  done
  v=$(row "$x" wall_s | cut -d, -f2)
  awk -v v="$v" 'BEGIN { exit !(v >= 0.05 && v < 30) }' || { echo "FAIL: $x wall_s $v (at least the 50 ms sleep)"; fail=1; }
  grep -q "^  E11 in CPython: 2 x 2 x 5 = 20 tasks (the tutorial's 50000 on 4 cores): $x peak 20 alive, started in [0-9.]* s, done in [0-9.]* s, [0-9]* MiB | C [a-z]* peak 20 alive" "$T/a.out" ||
    { echo "FAIL: no verdict line for $x"; fail=1; }
done
grep -q '^python_version=3\.' "$T/a/hybrid.meta" || { echo "FAIL: no python_version in the meta"; fail=1; }
# An interpreter that cannot start: the py rows skipped with the reason.
"$bin" "${run[@]}" --python /bin/false --out "$T/b" >"$T/b.out" 2>"$T/b.err" ||
  { echo "FAIL: --python /bin/false: exit $?: $(tail -3 "$T/b.err")"; fail=1; }
for x in py_hybrid py_thread py_coroutine; do
  k=$(awk -F, -v e="$x" '$2 == e && $11 == "skipped" && $12 ~ /\/bin\/false could not start/' "$T/b/hybrid.csv" | wc -l)
  [ "$k" -eq 4 ] || { echo "FAIL: --python /bin/false: $x: $k of 4 rows skipped with the reason"; fail=1; }
done
for x in hybrid thread coroutine; do
  k=$(awk -F, -v e="$x" '$2 == e && $8 == "peak_alive" && $9 == 20 && $11 == "ok"' "$T/b/hybrid.csv" | wc -l)
  [ "$k" -eq 1 ] || { echo "FAIL: --python /bin/false: C $x not ok"; fail=1; }
done
grep -q "E11 in CPython: .*: py_hybrid skipped (/bin/false could not start" "$T/b.out" || { echo "FAIL: --python /bin/false: no skipped verdict line"; fail=1; }
# --no-python: C rows only.
"$bin" "${run[@]}" --no-python --out "$T/c" >/dev/null 2>"$T/c.err" || { echo "FAIL: --no-python: exit $?"; fail=1; }
k=$(awk -F, '$2 ~ /^py_/' "$T/c/hybrid.csv" | wc -l)
[ "$k" -eq 0 ] || { echo "FAIL: --no-python: $k py rows"; fail=1; }
[ "$fail" -eq 0 ] && echo "hybrid CPython: every py row held 20 tasks at once; $(grep -F 'E11 in CPython' "$T/a.out" | head -1)"
exit "$fail"
