#!/bin/bash
# Tests scripts/python_reference.py at tiny sizes: the CSV it writes (header
# from lib/core/results.h's CB_RAW_COLUMNS, one row per configuration and
# repetition, every field), the io sleeps it shares with lib/wl/wl_io.c, --show-
# sleeps, --calibrate, failed tasks (rows kept, exit 3), bad arguments
# (exit 2, one line), and the harness's protocol (--probe, --calibrate,
# --point: cb_py.py).
#
# Without python3 on PATH the test passes and records why: a "SKIPPED:" line
# in the log and a JUnit <skipped> in $XML_OUTPUT_FILE (Bazel keeps it as
# test.xml). Only bash builtins run before that check, so the skip path works
# with a PATH that holds nothing; the test runs itself that way to check it.

set -u

skip() {
    printf 'SKIPPED: %s\n' "$1"
    if [[ -n "${XML_OUTPUT_FILE:-}" ]]; then
        printf '%s\n' \
            '<?xml version="1.0" encoding="UTF-8"?>' \
            '<testsuites tests="1" skipped="1">' \
            '<testsuite name="python_reference_test" tests="1" skipped="1">' \
            "<testcase name=\"python_reference\" classname=\"python_reference_test\"><skipped message=\"$1\"/></testcase>" \
            '</testsuite>' \
            '</testsuites>' >"$XML_OUTPUT_FILE"
    fi
    exit 0
}

if ! PY=$(command -v python3); then
    skip "python3 not found on PATH; the CPython reference rows (py_*) were not checked"
fi

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

find_file() {
    for f in "$1" "${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-concbench}/$1"; do
        if [[ -f "$f" ]]; then
            echo "$f"
            return 0
        fi
    done
    echo "cannot find $1 in the runfiles" >&2
    exit 1
}

SCRIPT=$(find_file scripts/python_reference.py)
HEADER_H=$(find_file lib/core/results.h)
T=$(mktemp -d "${TEST_TMPDIR:-/tmp}/pyref.XXXXXX")

# --- the skip path, with a PATH that has no python3 (nor anything else) ---
empty=$(mktemp -d "$T/empty.XXXXXX")
out=$(PATH="$empty" XML_OUTPUT_FILE="$T/skip.xml" "$BASH" "$0" 2>&1)
rc=$?
[[ $rc -eq 0 ]] || fail "skip path: exit status $rc, want 0"
[[ "$out" == "SKIPPED: python3 not found on PATH; the CPython reference rows (py_*) were not checked" ]] ||
    fail "skip path: output '$out'"
grep -q '<skipped message="python3 not found on PATH' "$T/skip.xml" 2>/dev/null ||
    fail "skip path: no <skipped> in the XML"

# --- the header, as lib/core/results.h declares it ---
want_header=$(awk '
    /#define CB_RAW_COLUMNS/ { on = 1 }
    on { s = $0; while (match(s, /"[^"]*"/)) { h = h substr(s, RSTART + 1, RLENGTH - 2); s = substr(s, RSTART + RLENGTH) } }
    on && !/\\$/ { on = 0 }
    END { print h }' "$HEADER_H")
[[ "$want_header" == experiment,executor,workload,* ]] ||
    fail "could not read CB_RAW_COLUMNS from lib/core/results.h: '$want_header'"

# --- the io sleeps match lib/wl/workload_test.cc's (the same rule as wl_io.c) ---
sleeps=$("$PY" "$SCRIPT" --show-sleeps --tasks 4 --io-ms 2000 --io-jitter 0.5 --seed 42 | tr '\n' ' ')
[[ "$sleeps" == "2915546651 1651979246 2893121986 2083656736 " ]] || fail "--show-sleeps: '$sleeps'"
# The C bench passes --io-ms with printf's %g.
sleeps=$("$PY" "$SCRIPT" --show-sleeps --tasks 4 --io-ms 2e+03 --io-jitter 0.5 --seed 42 | tr '\n' ' ')
[[ "$sleeps" == "2915546651 1651979246 2893121986 2083656736 " ]] || fail "--io-ms 2e+03: '$sleeps'"

# --- a full run at tiny sizes ---
csv="$T/out/py.csv"
mkdir -p "$T/out"
"$PY" "$SCRIPT" --tasks 2 --cpu-iters 2000 --io-ms 5 --io-jitter 0.5 --seed 42 \
    --reps 2 --warmup 1 --workers 1,2 --out "$csv" 2>"$T/run.err"
rc=$?
[[ $rc -eq 0 ]] || fail "run: exit status $rc: $(cat "$T/run.err")"
[[ "$(head -n 1 "$csv")" == "$want_header" ]] || fail "header: '$(head -n 1 "$csv")'"
[[ "$(ls -A "$T/out")" == "py.csv" ]] || fail "temp files left beside the CSV: $(ls -A "$T/out")"

read -r s0 s1 < <("$PY" "$SCRIPT" --show-sleeps --tasks 2 --io-ms 5 --io-jitter 0.5 --seed 42 | tr '\n' ' ')
# 2 workloads x (serial, thread, process, asyncio, 2 pools x 2 sizes) = 16
# configurations, 2 repetitions each.
bad=$(awk -F, -v s0="$s0" -v s1="$s1" '
    NR == 1 { next }
    {
        rows++
        if (NF != 12) { print "line " NR ": " NF " fields"; next }
        if ($1 != "cpu_vs_io" || $5 != "2" || $6 != "none" || $8 != "wall_s" || $10 != "s" ||
            $11 != "ok" || $12 != "")
            print "line " NR ": unexpected fields: " $0
        if ($7 != "0" && $7 != "1") print "line " NR ": rep " $7
        if ($9 !~ /^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ || $9 + 0 <= 0)
            print "line " NR ": value " $9
        if ($3 != "cpu" && $3 != "io") print "line " NR ": workload " $3
        # One rule, as for the C rows: W (the pools each count of --workers
        # 1,2, the others its first), 1 for the serial reference.
        w = ($2 == "py_serial") ? "1" : ($2 == "py_thread" || $2 == "py_process" || $2 == "py_asyncio") ? "1" : ""
        if ($2 ~ /^py_(thread|process)_pool$/) { if ($4 != "1" && $4 != "2") print "line " NR ": workers " $4 }
        else if (w == "") print "line " NR ": executor " $2
        else if ($4 != w) print "line " NR ": workers " $4 " for " $2
        seen[$2 " " $3 " " $4]++
        # Facts, not timings: the sleeps run one after another (serial, a
        # pool of 1) or overlap, and the wall time covers them either way.
        if ($3 == "io") {
            one_by_one = ($2 == "py_serial" || ($2 ~ /_pool$/ && $4 == "1"))
            need = one_by_one ? (s0 + s1) / 1e9 : (s0 > s1 ? s0 : s1) / 1e9
            if ($9 + 0 < need) print "line " NR ": io wall " $9 " below the sleeps " need
        }
    }
    END {
        if (rows != 32) print rows " rows, want 32"
        n = 0
        for (k in seen) { n++; if (seen[k] != 2) print k ": " seen[k] " rows, want 2" }
        if (n != 16) print n " configurations, want 16"
    }' "$csv")
[[ -z "$bad" ]] || fail "CSV rows: $bad"

# --- a subset to standard output ---
lines=$("$PY" "$SCRIPT" --executors py_thread --workloads io --tasks 3 --io-ms 1.5 --reps 3 \
    --warmup 0 2>/dev/null | awk -F, 'NR == 1 { h = $0 } NR > 1 && $2 == "py_thread" && $3 == "io" && $4 >= 1 && $5 == "3" { n++ } END { print h "|" n }')
[[ "$lines" == "$want_header|3" ]] || fail "stdout subset: '$lines'"

# --- calibration prints one positive count ---
cal=$("$PY" "$SCRIPT" --calibrate 0.01)
[[ "$cal" =~ ^[1-9][0-9]*$ ]] || fail "--calibrate: '$cal'"

# --- failed tasks still write their rows (status, empty value, exit 3) ---
# Task 1 of each configuration is made to fail: cpu dies of SIGSEGV in a
# child process and raises in the harness's own process, io returns a wrong
# value.
PYTHONDONTWRITEBYTECODE=1 "$PY" - "$SCRIPT" "$T/fail.csv" >"$T/fail.out" 2>&1 <<'PYEOF'
import os, signal, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[1])))
import python_reference as pr
main_pid, run_task = os.getpid(), pr.run_task
def failing(spec):
    if spec[1] == 1 and spec[0] == "cpu":
        if os.getpid() != main_pid:
            os.kill(os.getpid(), signal.SIGSEGV)
        raise ValueError("injected")
    if spec[1] == 1:
        return 12345
    return run_task(spec)
pr.run_task = failing
sys.exit(pr.main(["--tasks", "2", "--cpu-iters", "100", "--io-ms", "1", "--reps", "1",
                  "--warmup", "0", "--workers", "2", "--executors",
                  "py_serial,py_process,py_thread_pool", "--out", sys.argv[2]]))
PYEOF
rc=$?
[[ $rc -eq 3 ]] || fail "failing run: exit status $rc, want 3: $(cat "$T/fail.out")"
got=$(awk -F, 'NR > 1 { print $2 " " $3 " [" $9 "] " $11 }' "$T/fail.csv" 2>/dev/null | tr '\n' ';')
want="py_serial cpu [] error;py_process cpu [] crashed;py_thread_pool cpu [] error;"
want+="py_serial io [] error;py_process io [] error;py_thread_pool io [] error;"
[[ "$got" == "$want" ]] || fail "failing run rows: '$got'"
grep -q '^cpu_vs_io,py_process,cpu,2,2,none,0,wall_s,,s,crashed,task 1: SIGSEGV$' "$T/fail.csv" ||
    fail "no SIGSEGV detail: $(cat "$T/fail.csv")"

# --- the harness's protocol (cb_py.py, as lib/core/python.c speaks it) ---
probe=$("$PY" "$SCRIPT" --probe)
[[ "$probe" =~ ^3\.[0-9]+\.[0-9]+$'\t'$ ]] || fail "--probe: '$probe'"
pp=(--experiment cpu_vs_io --timeout 60 --param cpu_iters=300 --param io_ms=5 --param io_jitter=0.5)
# The calibration: the increments of a C task's time here; under --tutorial
# (cpu_task_s=0) the C task's own count.
cal=$("$PY" "$SCRIPT" --calibrate "${pp[@]}" --param cpu_task_s=0.01 --point py_serial/cpu/1/2/none/-)
[[ "$cal" =~ ^python_cpu_iters=[1-9][0-9]*$ ]] || fail "protocol --calibrate: '$cal'"
cal=$("$PY" "$SCRIPT" --calibrate "${pp[@]}" --param cpu_task_s=0 --point py_serial/cpu/1/2/none/-)
[[ "$cal" == python_cpu_iters=300 ]] || fail "protocol --calibrate, tutorial: '$cal'"
# Each point once, its wall_s row; one that is not cpu_vs_io's is an error
# row saying so (exit 3).
"$PY" "$SCRIPT" "${pp[@]}" --param python_cpu_iters=300 --rep 4 --out "$T/proto.csv" \
    --point py_serial/cpu/1/2/none/- --point py_process_pool/io/2/2/none/- \
    --point py_asyncio/io/2/2/none/- --point py_thread/mixed/2/2/none/- 2>"$T/proto.err"
rc=$?
[[ $rc -eq 3 ]] || fail "protocol run: exit status $rc, want 3: $(cat "$T/proto.err")"
[[ "$(head -n 1 "$T/proto.csv")" == "$want_header" ]] || fail "protocol header: '$(head -n 1 "$T/proto.csv")'"
got=$(awk -F, 'NR > 1 { print $2 " " $3 " " $4 " " $5 " " $6 " " $7 " " $8 " " $11 " " ($9 > 0) }' "$T/proto.csv" | tr '\n' ';')
want="py_serial cpu 1 2 none 4 wall_s ok 1;py_process_pool io 2 2 none 4 wall_s ok 1;"
want+="py_asyncio io 2 2 none 4 wall_s ok 1;py_thread mixed 2 2 none 4 wall_s error 0;"
[[ "$got" == "$want" ]] || fail "protocol rows: '$got'"
grep -q ',error,no CPython run for py_thread on mixed$' "$T/proto.csv" || fail "protocol error row: $(cat "$T/proto.csv")"
# The io sleeps as the standalone run's (and the C side's): 5 ms +- 50%, seed 1.
io=$(awk -F, '$2 == "py_process_pool" { print $9 }' "$T/proto.csv")
read -r s0 s1 < <("$PY" "$SCRIPT" --show-sleeps --tasks 2 --io-ms 5 --io-jitter 0.5 --seed 1 | tr '\n' ' ')
awk -v v="$io" -v s0="$s0" -v s1="$s1" 'BEGIN { exit !(v + 0 >= (s0 > s1 ? s0 : s1) / 1e9) }' ||
    fail "protocol io wall $io below the longest sleep"

# --- bad arguments: exit 2, one line on stderr, nothing written ---
bad_args=(
    "--tasks 0" "--tasks -1" "--tasks abc" "--tasks 4x" "--tasks 99999999999999999999999"
    "--cpu-iters 1e6" "--executors py_nope" "--workloads cpu,disk" "--io-jitter 2"
    "--io-jitter nan" "--io-jitter 1_0" "--io-ms -1" "--io-ms inf" "--io-ms 1e"
    "--workers 0" "--workers 2,x" "--reps 0" "--calibrate 0" "--bogus"
    "--out $T/missing/x.csv" "--out $T"
)
for args in "${bad_args[@]}"; do
    # A valid --out is added so that a bad value that slipped through would
    # show as a written file; the --out cases go alone (the last --out wins).
    extra=(--out "$T/bad.csv")
    [[ "$args" == --out* ]] && extra=()
    # shellcheck disable=SC2086 # the arguments are split on purpose
    timeout 30 "$PY" "$SCRIPT" $args "${extra[@]}" >"$T/bad.out" 2>"$T/bad.err"
    rc=$?
    [[ $rc -eq 2 ]] || fail "'$args': exit status $rc, want 2"
    [[ $(wc -l <"$T/bad.err") -eq 1 ]] || fail "'$args': stderr: $(cat "$T/bad.err")"
    [[ ! -s "$T/bad.out" ]] || fail "'$args': wrote to stdout"
    [[ ! -e "$T/bad.csv" ]] || fail "'$args': wrote $T/bad.csv"
done

if [[ $failures -ne 0 ]]; then
    echo "$failures check(s) failed" >&2
    exit 1
fi
echo "PASS: python_reference.py ($("$PY" --version 2>&1))"
