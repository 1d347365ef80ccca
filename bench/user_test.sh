#!/usr/bin/env bash
# Your own work on the harness: a user's binary (testdata/user_faults.c on
# //:concbench_main) with a wrong check, a crash, a hang and a failing
# setup; a binary registering a name twice; //bench:work with --command
# (true, false, a missing program, a sleep past --timeout) and --py-task (a
# raising function, a missing module, a wrong return value, bad --py-args).
set -uo pipefail
faults="$1" badreg="$2" work="$3" pydir="$(cd "$(dirname "$4")" && pwd)"
T="$TEST_TMPDIR"
fail=0
say_fail() { echo "FAIL: $*"; fail=1; }
q=(--quick --reps 1 --warmup 0 --no-plot --timeout 5)
# row EXECUTOR WORKLOAD FILE: "status|detail" of its wall_s row
row() { awk -F, -v e="$1" -v w="$2" '$2 == e && $3 == w && $8 == "wall_s" {print $11 "|" $12; exit}' "$3"; }

# ---- 1. A user workload that is right: every row ok, the tmp folders gone.
o="$T/right"; mkdir -p "$o"
"$faults" "${q[@]}" --workloads right,files --out "$o" >"$T/right.out" 2>&1 || say_fail "right: exit $?: $(tail -3 "$T/right.out")"
bad=$(awk -F, 'NR > 1 && $8 == "wall_s" && $11 != "ok"' "$o/user_faults.csv")
[ -z "$bad" ] || say_fail "right: rows not ok: $bad"
n=$(awk -F, '$8 == "wall_s" && $11 == "ok"' "$o/user_faults.csv" | wc -l)
[ "$n" -ge 20 ] || say_fail "right: only $n ok rows (want every executor for 2 workloads)"
[ -z "$(ls -A "$o" | grep '^\.')" ] || say_fail "right: left behind in --out: $(ls -A "$o" | grep '^\.')"
"$faults" --list | grep -q '^  *right' || say_fail "--list lacks the user's workload"

# ---- 2. Wrong value, crash, hang, failing setup: rows say which, exit 3.
o="$T/faults"; mkdir -p "$o"
# (Under AddressSanitizer a SIGSEGV would become its report and SIGABRT.)
ASAN_OPTIONS="${ASAN_OPTIONS:-}:handle_segv=0" \
"$faults" "${q[@]}" --workloads wrong,crash,hang,setup_fails --executors serial,thread,process \
  --timeout 2 --out "$o" >"$T/faults.out" 2>&1; rc=$?
[ "$rc" -eq 3 ] || say_fail "faults: exit $rc, want 3"
f="$o/user_faults.csv"
case "$(row thread wrong "$f")" in "error|task 2 returned 8: wrong result") ;; *) say_fail "wrong: $(row thread wrong "$f")" ;; esac
case "$(row process crash "$f")" in crashed\|*SIGSEGV*) ;; *) say_fail "crash: $(row process crash "$f")" ;; esac
case "$(row thread crash "$f")" in crashed\|*SIGSEGV*) ;; *) say_fail "crash (thread): $(row thread crash "$f")" ;; esac
case "$(row thread hang "$f")" in timeout\|*) ;; *) say_fail "hang: $(row thread hang "$f")" ;; esac
case "$(row serial setup_fails "$f")" in error\|*"set-up"*) ;; *) say_fail "setup: $(row serial setup_fails "$f")" ;; esac
[ -z "$(ls -A "$o" | grep '^\.')" ] || say_fail "faults: left behind in --out: $(ls -A "$o" | grep '^\.')"

# ---- 3. A name registered twice: one line, exit 2, nothing run.
err=$("$badreg" "${q[@]}" --out "$T" 2>&1 >/dev/null); rc=$?
[ "$rc" -eq 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && [[ "$err" == *"'twice' is registered twice"* ]] \
  || say_fail "bad registration: exit $rc: $err"

# ---- 4. --command: true ok; false error with the exit status; a missing
# program refused up front; a sleep past --timeout stopped.
o="$T/cmd"; mkdir -p "$o"
"$work" "${q[@]}" --command true --out "$o" >"$T/cmd.out" 2>&1 || say_fail "command true: exit $?: $(tail -3 "$T/cmd.out")"
bad=$(awk -F, 'NR > 1 && $8 == "wall_s" && $11 != "ok"' "$o/work.csv")
[ -z "$bad" ] || say_fail "command true: rows not ok: $bad"
[ "$(awk -F, '$3 == "command" && $8 == "wall_s" && $11 == "ok"' "$o/work.csv" | wc -l)" -ge 10 ] || say_fail "command true: too few rows"
"$work" "${q[@]}" --command 'echo going wrong; false' --executors serial,thread,coroutine --out "$o" >/dev/null 2>&1; rc=$?
[ "$rc" -eq 3 ] || say_fail "command false: exit $rc, want 3"
case "$(row thread command "$o/work.csv")" in "error|task 0 returned 1: exited 1: going wrong") ;; *) say_fail "command false: $(row thread command "$o/work.csv")" ;; esac
err=$("$work" "${q[@]}" --command 'no-such-program-here --x' --out "$o" 2>&1 >/dev/null); rc=$?
[ "$rc" -eq 2 ] && [[ "$err" == "--command: 'no-such-program-here' not found in PATH"* ]] || say_fail "missing program: exit $rc: $err"
"$work" "${q[@]}" --command 'sleep 30' --executors thread --timeout 1 --out "$o" >/dev/null 2>&1; rc=$?
[ "$rc" -eq 3 ] || say_fail "sleep past the timeout: exit $rc, want 3"
case "$(row thread command "$o/work.csv")" in timeout\|*) ;; *) say_fail "sleep: $(row thread command "$o/work.csv")" ;; esac
pgrep -f 'sleep 30' >/dev/null && say_fail "the command outlived its timeout"
[ -z "$(ls -A "$o" | grep '^\.')" ] || say_fail "command: left behind: $(ls -A "$o" | grep '^\.')"

# ---- 5. --py-task (needs python3): a right function, a raising one, a
# missing module, a wrong value, bad --py-args.
if command -v python3 >/dev/null; then
  o="$T/py"; mkdir -p "$o"
  "$work" "${q[@]}" --py-task pytask:square --py-path "$pydir" --py-args '{"scale": 3}' --out "$o" \
    >"$T/py.out" 2>&1 || say_fail "py square: exit $?: $(tail -3 "$T/py.out")"
  [ "$(awk -F, '$3 == "py_task" && $8 == "wall_s" && $11 == "ok"' "$o/work.csv" | wc -l)" -eq 6 ] \
    || say_fail "py square: want 6 ok py_* rows: $(cut -d, -f2,3,11,12 "$o/work.csv" | tail -6)"
  "$work" "${q[@]}" --py-task pytask:raises --py-path "$pydir" --out "$o" >/dev/null 2>&1; rc=$?
  [ "$rc" -eq 3 ] || say_fail "py raises: exit $rc, want 3"
  case "$(row py_thread py_task "$o/work.csv")" in *"ValueError: task two refuses"*) ;; *) say_fail "py raises: $(row py_thread py_task "$o/work.csv")" ;; esac
  "$work" "${q[@]}" --py-task pywrong:drifting --py-path "$pydir" --out "$o" >/dev/null 2>&1; rc=$?
  [ "$rc" -eq 3 ] || say_fail "py wrong value: exit $rc, want 3"
  case "$(row py_thread py_task "$o/work.csv")" in error\|*"is wrong"*) ;; *) say_fail "py wrong: $(row py_thread py_task "$o/work.csv")" ;; esac
  for bad in "nosuchmodule:f|cannot import module 'nosuchmodule'" "pytask:nosuch|has no function 'nosuch'" \
             "pytask|expected MODULE:FUNCTION"; do
    err=$("$work" "${q[@]}" --py-task "${bad%%|*}" --py-path "$pydir" --out "$o" 2>&1 >/dev/null); rc=$?
    [ "$rc" -eq 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && [[ "$err" == *"${bad#*|}"* ]] \
      || say_fail "py ${bad%%|*}: exit $rc: $err"
  done
  err=$("$work" "${q[@]}" --py-task pytask:square --py-path "$pydir" --py-args '{oops' --out "$o" 2>&1 >/dev/null); rc=$?
  [ "$rc" -eq 2 ] && [[ "$err" == "--py-args: bad value '{oops'"* ]] || say_fail "py-args: exit $rc: $err"
else
  echo "SKIP: no python3 on PATH: the --py-task checks did not run"
fi

[ "$fail" -eq 0 ] && echo "user workloads: faults, commands and Python tasks behave"
exit "$fail"
