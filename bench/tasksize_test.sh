#!/usr/bin/env bash
# tasksize end to end at small sizes: C and CPython rows at every size, each
# checked ok; the per-repetition crossover rows of both languages; the
# verdict's lines; meta; --no-python; an interpreter that is not there (the
# CPython rows skipped with the reason, the C rows kept, exit 0); sizes that
# do not ascend refused with one line, nothing written.
set -uo pipefail
bin="$1"
T="$TEST_TMPDIR"
fail=0
run=(--sizes 1000,100000,3000000 --reps 2 --warmup 0 --workers 2 --no-plot)
mkdir -p "$T/a" "$T/b" "$T/c" "$T/d"
"$bin" "${run[@]}" --out "$T/a" >"$T/a.out" 2>"$T/a.err" || { echo "FAIL: exit $?: $(tail -3 "$T/a.err")"; fail=1; }
csv="$T/a/tasksize.csv"
for e in serial thread process thread_pool process_pool py_serial py_thread py_process py_thread_pool py_process_pool; do
  for n in 1000 100000 3000000; do
    k=$(awk -F, -v e="$e" -v n="$n" '$2 == e && $5 == n && $8 == "wall_s" && $11 == "ok" && $9 > 0' "$csv" | wc -l)
    [ "$k" -eq 2 ] || { echo "FAIL: $e at $n: $k ok wall_s rows of 2"; fail=1; }
  done
done
for e in process py_process; do
  for m in crossover_vs_serial crossover_vs_thread; do
    rows=$(awk -F, -v e="$e" -v m="$m" '$2 == e && $8 == m && $5 == 0' "$csv")
    [ "$(printf '%s\n' "$rows" | grep -c .)" -eq 2 ] || { echo "FAIL: $e $m: rows: $rows"; fail=1; }
    # ok with a size inside the sweep, or skipped saying which side.
    bad=$(printf '%s\n' "$rows" | awk -F, '!(($11 == "ok" && $9 >= 1000 && $9 <= 3000000) || ($11 == "skipped" && $12 ~ /(above|below) the range/))')
    [ -z "$bad" ] || { echo "FAIL: $e $m: $bad"; fail=1; }
  done
done
for l in "E1b (tutorial 003" "process    beats serial" "py_process beats thread"; do
  grep -qF "$l" "$T/a.out" || { echo "FAIL: no verdict line '$l'"; fail=1; }
done
grep -q '^ntasks=4$' "$T/a/tasksize.meta" || { echo "FAIL: meta ntasks"; fail=1; }
grep -q '^python_version=3\.' "$T/a/tasksize.meta" || { echo "FAIL: meta python_version"; fail=1; }
"$bin" "${run[@]}" --no-python --out "$T/b" >/dev/null 2>&1 || { echo "FAIL: --no-python exit $?"; fail=1; }
grep -q ',py_' "$T/b/tasksize.csv" && { echo "FAIL: --no-python wrote py_ rows"; fail=1; }
"$bin" "${run[@]}" --reps 1 --python /no/such/python3 --out "$T/c" >/dev/null 2>&1
rc=$?
[ "$rc" -eq 0 ] || { echo "FAIL: without python: exit $rc, want 0"; fail=1; }
k=$(awk -F, '$2 ~ /^py_/ && $8 == "wall_s" && $11 == "skipped" && $12 ~ /--python \/no\/such\/python3: not found/' "$T/c/tasksize.csv" | wc -l)
[ "$k" -eq 15 ] || { echo "FAIL: without python: $k skipped py rows of 15"; fail=1; }
k=$(awk -F, '$2 == "process" && $8 == "wall_s" && $11 == "ok"' "$T/c/tasksize.csv" | wc -l)
[ "$k" -eq 3 ] || { echo "FAIL: without python: $k C process rows of 3"; fail=1; }
"$bin" --sizes 1000,100 --out "$T/d" >/dev/null 2>"$T/d.err"
rc=$?
[ "$rc" -eq 2 ] && [ "$(wc -l <"$T/d.err")" -eq 1 ] && grep -q "bad value '100' after 1000" "$T/d.err" ||
  { echo "FAIL: descending sizes: exit $rc: $(cat "$T/d.err")"; fail=1; }
[ -e "$T/d/tasksize.csv" ] && { echo "FAIL: descending sizes wrote a CSV"; fail=1; }
[ "$fail" -eq 0 ] && echo "tasksize: all rows ok; $(grep -F 'py_process beats thread' "$T/a.out")"
exit "$fail"
