#!/usr/bin/env bash
# scaling's CPython rows at a small size: every py row ok, each pool's
# speedup derived against py_serial, the calibration recorded (cpu_iters),
# this interpreter's pool defaults recorded (ThreadPoolExecutor:
# min(32, os.cpu_count() + 4); ProcessPoolExecutor: os.cpu_count()) and
# swept; the verdict's lines; --no-python leaves the py rows out.
set -uo pipefail
bin="$1"
T="$TEST_TMPDIR"
fail=0
py=$(command -v python3 || echo /usr/bin/python3)
ncpu=$("$py" -c 'import os; print(os.cpu_count())')
tdef=$((ncpu + 4 < 32 ? ncpu + 4 : 32))
run=(--quick --reps 1 --warmup 0 --task-ms 1 --tasks 4 --pin compact --workloads cpu,io --no-plot)
mkdir -p "$T/a" "$T/b"
"$bin" "${run[@]}" --executors serial,thread_pool,py_serial,py_thread_pool,py_process_pool --out "$T/a" >"$T/a.out" 2>"$T/a.err" || { echo "FAIL: exit $?: $(tail -3 "$T/a.err")"; fail=1; }
csv="$T/a/scaling.csv"
bad=$(awk -F, 'NR > 1 && $2 ~ /^py_/ && $11 != "ok"' "$csv")
[ -z "$bad" ] || { echo "FAIL: py rows not ok: $bad"; fail=1; }
for e in py_serial py_thread_pool py_process_pool; do
  for w in cpu io; do
    k=$(awk -F, -v e="$e" -v w="$w" '$2 == e && $3 == w && $8 == "wall_s" && $11 == "ok" && $9 > 0' "$csv" | wc -l)
    [ "$k" -ge 1 ] || { echo "FAIL: $e $w: no ok wall_s row"; fail=1; }
  done
done
for e in py_thread_pool py_process_pool; do
  k=$(awk -F, -v e="$e" '$2 == e && $8 == "speedup" && $9 > 0' "$csv" | wc -l)
  [ "$k" -ge 2 ] || { echo "FAIL: $e: $k speedup rows"; fail=1; }
done
k=$(awk -F, '$2 == "py_serial" && $3 == "cpu" && $8 == "cpu_iters" && $9 > 0' "$csv" | wc -l)
[ "$k" -eq 1 ] || { echo "FAIL: no calibrated cpu_iters row"; fail=1; }
d=$(awk -F, '$2 == "py_thread_pool" && $8 == "default_workers" { print $9; exit }' "$csv")
[ "$d" = "$tdef" ] || { echo "FAIL: ThreadPoolExecutor default $d, want min(32, $ncpu + 4) = $tdef"; fail=1; }
d=$(awk -F, '$2 == "py_process_pool" && $8 == "default_workers" { print $9; exit }' "$csv")
[ "$d" = "$ncpu" ] || { echo "FAIL: ProcessPoolExecutor default $d, want $ncpu"; fail=1; }
k=$(awk -F, -v t="$tdef" '$2 == "py_thread_pool" && $4 == t && $8 == "wall_s" && $11 == "ok"' "$csv" | wc -l)
[ "$k" -ge 1 ] || { echo "FAIL: no py_thread_pool row at its default $tdef workers"; fail=1; }
for l in "^  a cpu task counts [0-9]* times in CPython .*CPython [0-9]*x slower" \
         "^  py_thread_pool serial fraction" \
         "^io, pinned compact, the default pool sizes .*Python 3.5-3.7.*ThreadPoolExecutor() = min(32, os.cpu_count() + 4) = $tdef here"; do
  grep -q "$l" "$T/a.out" || { echo "FAIL: no verdict line /$l/"; fail=1; }
done
"$bin" "${run[@]}" --no-python --executors serial,thread_pool,py_thread_pool --workloads io --out "$T/b" >/dev/null 2>"$T/b.err" || { echo "FAIL: --no-python: exit $?: $(tail -2 "$T/b.err")"; fail=1; }
k=$(awk -F, '$2 ~ /^py_/' "$T/b/scaling.csv" | wc -l)
[ "$k" -eq 0 ] || { echo "FAIL: --no-python left $k py rows"; fail=1; }
k=$(awk -F, -v t="$tdef" '$4 == t' "$T/b/scaling.csv" | wc -l)
[ "$tdef" -eq 2 ] || [ "$tdef" -eq 4 ] || [ "$tdef" -eq 1 ] || [ "$k" -eq 0 ] || { echo "FAIL: --no-python: C rows at CPython's default $tdef workers"; fail=1; }
[ "$fail" -eq 0 ] && echo "scaling: CPython rows ok; $(grep 'a cpu task counts' "$T/a.out")"
exit "$fail"
