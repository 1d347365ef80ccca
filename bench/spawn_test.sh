#!/usr/bin/env bash
# spawn end to end at tiny sizes: every row of the default run measures (ok)
# inside its runfiles; the same binary copied where bench/tiny cannot be
# found records its posix_spawn rows as errors that say where it looked
# (not a bare -2), and the other rows still run.
set -uo pipefail
bin="$1"
T="$TEST_TMPDIR"
fail=0
run=(--quick --reps 1 --warmup 0 --no-plot --min-ms 2 --stream 1000 --pinned-only)
mkdir -p "$T/a" "$T/b"
"$bin" "${run[@]}" --out "$T/a" >/dev/null 2>"$T/a.err" || { echo "FAIL: exit $?: $(tail -3 "$T/a.err")"; fail=1; }
ctr='^(task_clock_s|context_switches|cpu_migrations|page_faults|major_faults|cycles|instructions|cache_misses|branch_misses|ipc)$'
bad=$(awk -F, -v c="$ctr" 'NR > 1 && $11 != "ok" && !($11 == "skipped" && $8 ~ c && $12 != "")' "$T/a/spawn.csv" | head -3)
[ -z "$bad" ] || { echo "FAIL: rows not ok: $bad"; fail=1; }
# The CPython rows: each of its constructs, ok, on the pinned choice only;
# the verdict's lines per start method.
for ew in py_thread:pthread py_process:fork py_process:forkserver py_process:spawn \
  py_thread_pool:submit py_thread_pool:stream py_process_pool:submit py_process_pool:stream; do
  e=${ew%%:*} w=${ew#*:}
  k=$(awk -F, -v e="$e" -v w="$w" '$2 == e && $3 == w && $6 == "compact" && $11 == "ok" && ($8 == "us_per_spawn" || $8 == "tasks_per_s") && $9 > 0' "$T/a/spawn.csv" | wc -l)
  [ "$k" -eq 1 ] || { echo "FAIL: $e on $w: $k ok rows of 1"; fail=1; }
done
[ "$(awk -F, '$2 ~ /^py_/ && $6 == "none"' "$T/a/spawn.csv" | wc -l)" -eq 0 ] || { echo "FAIL: unpinned CPython rows"; fail=1; }
"$bin" "${run[@]}" --out "$T/a" >"$T/a.out" 2>/dev/null
for m in fork forkserver spawn; do
  grep -q "CPython  Process($m" "$T/a.out" || { echo "FAIL: no verdict line for Process($m)"; fail=1; }
done
grep -q "^  C        fork " "$T/a.out" || { echo "FAIL: no verdict line for C fork"; fail=1; }
# 001's print order: unpinned rows only, C and CPython, each a share of
# its trials (CPython processes a fifth), and the verdict's line.
mkdir -p "$T/c"
"$bin" --quick --reps 1 --warmup 0 --no-plot --workloads print_order --trials 50 --out "$T/c" >"$T/c.out" 2>"$T/c.err" || { echo "FAIL: print_order: exit $?: $(tail -2 "$T/c.err")"; fail=1; }
for et in thread:50 process:50 py_thread:50 py_process:10; do
  e=${et%%:*} t=${et#*:}
  k=$(awk -F, -v e="$e" -v t="$t" '$2 == e && $3 == "print_order" && $5 == t && $6 == "none" && $8 == "child_first_pct" && $11 == "ok" && $9 >= 0 && $9 <= 100' "$T/c/spawn.csv" | wc -l)
  [ "$k" -eq 1 ] || { echo "FAIL: print_order on $e: $k ok rows of 1 (unpinned, $t trials)"; fail=1; }
done
[ "$(awk -F, '$3 == "print_order" && $6 != "none"' "$T/c/spawn.csv" | wc -l)" -eq 0 ] || { echo "FAIL: pinned print_order rows"; fail=1; }
grep -q "^  001 print order, .* | C thread [0-9]*%, process [0-9]*% | CPython Thread [0-9]*%, Process [0-9]*% of the starts" "$T/c.out" || { echo "FAIL: no print-order verdict line"; fail=1; }
cp "$bin" "$T/spawn"
(cd "$T" && env -u RUNFILES_DIR -u BUILD_WORKSPACE_DIRECTORY ./spawn "${run[@]}" --executors raw \
  --workloads posix_spawn,pthread --out "$T/b" >/dev/null 2>&1)
rc=$?
row=$(awk -F, '$3 == "posix_spawn" && $8 == "us_per_spawn"' "$T/b/spawn.csv")
[ "$rc" -eq 3 ] || { echo "FAIL: without tiny: exit $rc, want 3"; fail=1; }
case "$row" in *,error,*"bench/tiny not in the runfiles"*) ;; *) echo "FAIL: posix_spawn row: $row"; fail=1 ;; esac
[ "$(awk -F, '$3 == "pthread" && $11 == "ok"' "$T/b/spawn.csv" | wc -l)" -ge 1 ] || { echo "FAIL: pthread did not run"; fail=1; }
[ "$fail" -eq 0 ] && echo "spawn: every row ok; without bench/tiny: $(echo "$row" | cut -d, -f11-)"
exit "$fail"
