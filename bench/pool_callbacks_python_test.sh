#!/usr/bin/env bash
# pool_callbacks' CPython rows at tiny sizes: every py row ok; where the
# callbacks ran (ThreadPoolExecutor: in the worker thread that ran the task,
# in the parent's pid, not the main thread; ProcessPoolExecutor and
# multiprocessing.Pool: in the parent, in one thread that is not the main
# thread and ran no task); a blocked callback delays mp.Pool's later
# results; the verdict's lines; --no-python leaves the py rows out.
set -uo pipefail
bin="$1"
T="$TEST_TMPDIR"
fail=0
run=(--quick --reps 1 --warmup 0 --task-ms 30 --callback-ms 30 --block-ms 150 --no-plot)
mkdir -p "$T/a" "$T/b"
"$bin" "${run[@]}" --executors thread_pool,py_thread_pool,py_process_pool,py_mp_pool --out "$T/a" >"$T/a.out" 2>"$T/a.err" || { echo "FAIL: exit $?: $(tail -3 "$T/a.err")"; fail=1; }
csv="$T/a/pool_callbacks.csv"
# value of executor/workload/metric (ok rows only)
val() { awk -F, -v e="$1" -v w="$2" -v m="$3" '$2 == e && $3 == w && $8 == m && $11 == "ok" { print $9 }' "$csv"; }
bad=$(awk -F, 'NR > 1 && $2 ~ /^py_/ && $11 != "ok"' "$csv")
[ -z "$bad" ] || { echo "FAIL: py rows not ok: $bad"; fail=1; }
for e in py_thread_pool py_process_pool py_mp_pool; do
  for w in callbacks blocked_callback; do
    k=$(awk -F, -v e="$e" -v w="$w" '$2 == e && $3 == w && $11 == "ok"' "$csv" | wc -l)
    [ "$k" -eq 9 ] || { echo "FAIL: $e $w: $k ok rows of 9"; fail=1; }
  done
done
# expect EXECUTOR WORKLOAD METRIC VALUE
expect() {
  local v
  v=$(val "$1" "$2" "$3")
  awk -v v="$v" -v want="$4" 'BEGIN { exit !(v != "" && v + 0 == want + 0) }' || { echo "FAIL: $1 $2 $3 = '$v', want $4"; fail=1; }
}
expect py_thread_pool callbacks cb_in_task_thread 2
expect py_thread_pool callbacks cb_in_parent 2
expect py_thread_pool callbacks cb_in_main_thread 0
for e in py_process_pool py_mp_pool; do
  expect "$e" callbacks cb_in_parent 2
  expect "$e" callbacks cb_in_main_thread 0
  expect "$e" callbacks cb_in_task_thread 0
  expect "$e" callbacks cb_in_pool_thread 2
  expect "$e" callbacks cb_threads 1
done
grep -q 'py_mp_pool,callbacks,.*cb_in_pool_thread,.*_handle_results' "$csv" || { echo "FAIL: mp.Pool's callbacks not named in its result-handler thread"; fail=1; }
d=$(val py_mp_pool blocked_callback result_wait_s)
awk -v d="$d" 'BEGIN { exit !(d != "" && d > 0.05) }' || { echo "FAIL: mp.Pool's blocked-callback delay $d s, want > 0.05"; fail=1; }
for l in "^  2 tasks + 2 slow callbacks.* | CPython ThreadPoolExecutor [0-9.]*, ProcessPoolExecutor" \
         "^  process pool over thread pool: tutorial 30 s, no thread pool figure" \
         "^  where the callbacks ran: tutorial .* | CPython ThreadPoolExecutor 2/2" \
         "^  one callback blocked 150 ms, delay of the later results: tutorial .* | CPython mp.Pool 0\.[0-9]* s"; do
  grep -q "$l" "$T/a.out" || { echo "FAIL: no verdict line /$l/"; fail=1; }
done
"$bin" "${run[@]}" --no-python --executors thread_pool,py_mp_pool --workloads callbacks --out "$T/b" >/dev/null 2>"$T/b.err" || { echo "FAIL: --no-python: exit $?: $(tail -2 "$T/b.err")"; fail=1; }
k=$(awk -F, '$2 ~ /^py_/' "$T/b/pool_callbacks.csv" | wc -l)
[ "$k" -eq 0 ] || { echo "FAIL: --no-python left $k py rows"; fail=1; }
[ "$fail" -eq 0 ] && echo "pool_callbacks: CPython rows ok; $(grep 'delay of the later' "$T/a.out")"
exit "$fail"
