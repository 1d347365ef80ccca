#!/usr/bin/env bash
# echo's CPython servers at tiny sizes: every py_ row ok with req/s > 0
# (py_gevent ok where an interpreter has gevent, else skipped naming the
# module); py_thread_pool serves 3 of 5 connections; the E10/E11 lines;
# with an interpreter that cannot import gevent (python3 -S: no
# site-packages) py_gevent is skipped with the reason and the others still
# ok; --no-python drops the py_ rows.
set -uo pipefail
bin="$1"
T="$TEST_TMPDIR"
fail=0
run=(--quick --reps 1 --warmup 0 --py-duration-ms 30 --duration-ms 30 --connections 1,5 --no-plot)
mkdir -p "$T/a" "$T/b" "$T/c"
"$bin" "${run[@]}" --out "$T/a" >"$T/a.out" 2>"$T/a.err" || { echo "FAIL: exit $?: $(tail -3 "$T/a.err")"; fail=1; }
csv="$T/a/echo.csv"
for e in py_thread py_thread_pool py_selectors py_asyncio; do
  for c in 1 5; do
    k=$(awk -F, -v e="$e" -v c="$c" '$2 == e && $5 == c && $8 == "req_per_s" && $11 == "ok" && $9 > 0' "$csv" | wc -l)
    [ "$k" -eq 1 ] || { echo "FAIL: $e at $c conns: $k ok rows of 1: $(awk -F, -v e="$e" -v c="$c" '$2 == e && $5 == c && $8 == "req_per_s"' "$csv")"; fail=1; }
  done
done
s=$(awk -F, '$2 == "py_thread_pool" && $5 == 5 && $8 == "conns_served" {print $9}' "$csv")
[ "$s" = "3" ] || { echo "FAIL: py_thread_pool served '$s' of 5 connections, not 3"; fail=1; }
g=$(awk -F, '$2 == "py_gevent" && $5 == 5 && $8 == "req_per_s"' "$csv")
case "$g" in *,ok,*|*,skipped,*"No module named 'gevent'"*) ;; *) echo "FAIL: py_gevent row: $g"; fail=1 ;; esac
grep -q "^E10 " "$T/a.out" || { echo "FAIL: no E10 line"; fail=1; }
grep -q "^  CPython  py_selectors .*x py_thread's req/s at 5 conns" "$T/a.out" || { echo "FAIL: no CPython E10 figure: $(grep -A4 '^E10' "$T/a.out")"; fail=1; }
grep -q "^  C        epoll .*x thread's req/s at 5 conns" "$T/a.out" || { echo "FAIL: no C E10 figure"; fail=1; }
grep -q "^E11 " "$T/a.out" || { echo "FAIL: no E11 line"; fail=1; }
grep -q "^  CPython  py_asyncio .*x py_thread's req/s" "$T/a.out" || { echo "FAIL: no CPython E11 figure"; fail=1; }
py=$(command -v python3 || echo /usr/bin/python3)
printf '#!/bin/sh\nexec %s -S "$@"\n' "$py" >"$T/py_nosite"
chmod +x "$T/py_nosite"
"$bin" "${run[@]}" --python "$T/py_nosite" --executors py_thread,py_gevent --out "$T/b" >"$T/b.out" 2>"$T/b.err" || { echo "FAIL: -S: exit $?: $(tail -2 "$T/b.err")"; fail=1; }
g=$(awk -F, '$2 == "py_gevent" && $8 == "req_per_s"' "$T/b/echo.csv")
case "$g" in *,skipped,*"No module named 'gevent'"*) ;; *) echo "FAIL: py_gevent without site-packages: $g"; fail=1 ;; esac
k=$(awk -F, '$2 == "py_thread" && $8 == "req_per_s" && $11 == "ok"' "$T/b/echo.csv" | wc -l)
[ "$k" -eq 2 ] || { echo "FAIL: -S: py_thread did not run"; fail=1; }
grep -q '^python_missing=gevent$' "$T/b/echo.meta" || { echo "FAIL: meta python_missing"; fail=1; }
grep -q "^  CPython  py_gevent: not measured (py_gevent: No module named 'gevent')" "$T/b.out" || { echo "FAIL: E11 line without gevent"; fail=1; }
"$bin" "${run[@]}" --no-python --executors thread,py_thread --out "$T/c" >"$T/c.out" 2>"$T/c.err" || { echo "FAIL: --no-python: exit $?"; fail=1; }
grep -q ',py_' "$T/c/echo.csv" && { echo "FAIL: --no-python left py_ rows"; fail=1; }
grep -q "^  CPython  not measured (--no-python)" "$T/c.out" || { echo "FAIL: --no-python verdict line"; fail=1; }
# No server outlives the runs.
pgrep -f "python_echo.py --serve" >/dev/null && { echo "FAIL: a CPython server outlived the run"; fail=1; }
[ "$fail" -eq 0 ] && echo "echo: CPython rows ok; $(grep -A3 '^E10' "$T/a.out" | tail -2 | tr -s ' ')"
exit "$fail"
