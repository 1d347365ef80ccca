#!/usr/bin/env bash
# The main job end to end at tiny sizes: every default configuration (all
# executors, the +gil rows and the CPython reference) ends `ok`, exit 0, and
# the contract's files are there: raw CSV, summary, meta, PNG and SVG, with
# no temp file left beside them.
set -uo pipefail
bin="$1"
out="$TEST_TMPDIR/out"
mkdir -p "$out"
"$bin" --quick --reps 2 --warmup 0 --cpu-iters 200000 --io-ms 5 --out "$out" >"$out/stdout" 2>"$out/stderr"
rc=$?
fail=0
[ "$rc" -eq 0 ] || { echo "FAIL: exit $rc"; tail -20 "$out/stderr"; fail=1; }
for f in cpu_vs_io.csv cpu_vs_io.summary.csv cpu_vs_io.meta cpu_vs_io.png cpu_vs_io.svg; do
  [ -s "$out/$f" ] || { echo "FAIL: $f missing or empty"; fail=1; }
done
[ -z "$(ls -A "$out" | grep -E '^\.')" ] || { echo "FAIL: temp files left: $(ls -A "$out" | grep -E '^\.')"; fail=1; }
# The raw CSV: the header of the contract, then every row ok.
head -1 "$out/cpu_vs_io.csv" | grep -q '^experiment,executor,workload,workers,tasks,pin,rep,metric,value,unit,status' \
  || { echo "FAIL: header: $(head -1 "$out/cpu_vs_io.csv")"; fail=1; }
# (A kernel counter this machine cannot count is `skipped` with the reason:
# hardware events without a PMU, kernel-side ones under perf_event_paranoid.)
ctr='^(task_clock_s|context_switches|cpu_migrations|page_faults|major_faults|cycles|instructions|cache_misses|branch_misses|ipc)$'
bad=$(awk -F, -v c="$ctr" 'NR > 1 && $11 != "ok" && !($11 == "skipped" && $8 ~ c && $12 != "")' \
  "$out/cpu_vs_io.csv" | head -5)
[ -z "$bad" ] || { echo "FAIL: rows not ok:"; echo "$bad"; fail=1; }
# The counters were taken for every C configuration: task-clock is a
# software event every Linux with perf events counts, and a configuration's
# task-clock is at least its user + sys time's order (here: > 0).
nc=$(awk -F, '$8 == "wall_s" && $11 == "ok" && $2 !~ /^py_/ {print $2 "/" $3}' "$out/cpu_vs_io.csv" | sort -u | wc -l)
nt=$(awk -F, '$8 == "task_clock_s" && $11 == "ok" && $9 > 0 {print $2 "/" $3}' "$out/cpu_vs_io.csv" | sort -u | wc -l)
[ "$nc" -gt 0 ] && [ "$nt" -eq "$nc" ] || { echo "FAIL: task_clock_s counted for $nt of $nc configurations"; fail=1; }
# Every executor --list shows (the registry's, with the +gil and py_ rows)
# appears, for cpu and io, and speedups were derived.
execs=$("$bin" --list | awk '/^executors:/ {f = 1; next} /^$/ {f = 0} f {print $1}')
[ "$(echo $execs | wc -w)" -ge 16 ] || { echo "FAIL: --list shows too few executors: $execs"; fail=1; }
for e in $execs; do
  for w in cpu io; do
    grep -q "^cpu_vs_io,$e,$w,.*,wall_s," "$out/cpu_vs_io.csv" || { echo "FAIL: no $e $w rows"; fail=1; }
  done
done
grep -q ',speedup,' "$out/cpu_vs_io.summary.csv" || { echo "FAIL: no speedup rows"; fail=1; }
grep -q '^partial=0$' "$out/cpu_vs_io.meta" || { echo "FAIL: meta not partial=0"; fail=1; }
grep -q "tutorials' claims" "$out/stdout" || { echo "FAIL: no verdict on stdout"; fail=1; }
[ "$fail" -eq 0 ] && echo "all configurations ok; files complete"
exit "$fail"
