#!/usr/bin/env bash
# ipc end to end at tiny sizes: the rows and keys of a quick run (every
# mechanism at every size, same_pu and cross_pu, the dd reference stream
# only, the message queue skipped over the kernel's limit with the limit
# named); the fault flags (a flipped byte is an error naming the offset, a
# receiver that dies is crashed, and every other row still runs); bad flag
# values (one line naming the value and what is allowed, exit 2); the
# CPython rows through the shared driver (an interpreter that fails at
# start, one without site-packages); 001's isolation rows and verdict line,
# in the default run and in --tutorial.
set -uo pipefail
bin="$1"
T="$TEST_TMPDIR"
fail=0
say() { echo "FAIL: $*"; fail=1; }
run=(--quick --reps 1 --warmup 0 --no-plot --min-ms 3 --py-min-ms 2 --no-counters)
mkdir -p "$T/a" "$T/c" "$T/d" "$T/n"

"$bin" "${run[@]}" --out "$T/a" >"$T/a.out" 2>"$T/a.err" || say "quick run: exit $?: $(tail -3 "$T/a.err")"
csv="$T/a/ipc.csv"
head -1 "$csv" | grep -q '^experiment,executor,workload,workers,tasks,pin,rep,metric,value,unit,status' ||
  say "header: $(head -1 "$csv")"
mqmax=$(cat /proc/sys/fs/mqueue/msgsize_max 2>/dev/null || echo 8192)
# One row per (executor, workload, size, pin, metric) the run must have.
for pin in same_pu cross_pu; do
  for n in 64 4096 65536 1048576; do
    for ew in thread/queue thread/spsc process/pipe process/socketpair process/shm process/mqueue; do
      e=${ew%/*} w=${ew#*/}
      for m in bytes_per_s msgs_per_s us_per_roundtrip; do
        row=$(awk -F, -v e="$e" -v w="$w" -v n="$n" -v p="$pin" -v m="$m" \
          '$2 == e && $3 == w && $4 == 2 && $5 == n && $6 == p && $8 == m' "$csv")
        [ -n "$row" ] || { say "no row $e $w $n $pin $m"; continue; }
        st=$(echo "$row" | cut -d, -f11)
        if [ "$w" = mqueue ] && [ "$n" -gt "$mqmax" ]; then
          case "$row" in *,skipped,*msgsize_max*) ;; *) say "mqueue $n: want skipped naming msgsize_max: $row" ;; esac
        elif [ "$pin" = cross_pu ] && [ "$(nproc)" -lt 2 ]; then
          [ "$st" = skipped ] || say "cross_pu on one PU: $row"
        else
          [ "$st" = ok ] || say "not ok: $row"
          v=$(echo "$row" | cut -d, -f9)
          awk -v v="$v" 'BEGIN { exit !(v > 0) }' || say "no value: $row"
        fi
      done
    done
    for m in bytes_per_s msgs_per_s; do
      awk -F, -v n="$n" -v p="$pin" -v m="$m" '$2 == "process" && $3 == "dd" && $5 == n && $6 == p && $8 == m' "$csv" |
        grep -q . || say "no dd row $n $pin $m"
    done
  done
done
awk -F, '$3 == "dd" && $8 == "us_per_roundtrip"' "$csv" | grep -q . && say "dd has a round trip row"
# The CPython rows (scripts/python_ipc.py), pinned as the C rows; skipped,
# with the reason, only without python3.
py=0
{ command -v python3 >/dev/null || [ -x /usr/bin/python3 ]; } && py=1
for pin in same_pu cross_pu; do
  for ew in py_thread/queue py_process/mp_queue py_process/mp_pipe py_process/manager_list py_process/shared_memory; do
    e=${ew%/*} w=${ew#*/}
    for m in bytes_per_s msgs_per_s us_per_roundtrip; do
      row=$(awk -F, -v e="$e" -v w="$w" -v p="$pin" -v m="$m" \
        '$2 == e && $3 == w && $4 == 2 && $5 == 4096 && $6 == p && $8 == m' "$csv")
      [ "$pin" = cross_pu ] && [ "$(nproc)" -lt 2 ] && continue
      if [ "$py" -eq 1 ]; then
        case "$row" in *,ok,*) ;; *) say "CPython row not ok: $e $w $pin $m: $row" ;; esac
      else
        case "$row" in *,skipped,*python3*) ;; *) say "CPython row without python3: $row" ;; esac
      fi
    done
  done
done
# Units, and nothing but the two sides in the workers column.
awk -F, 'NR > 1 && $8 == "bytes_per_s" && $10 != "B/s"' "$csv" | grep -q . && say "bytes_per_s unit"
awk -F, 'NR > 1 && $8 == "us_per_roundtrip" && $10 != "us"' "$csv" | grep -q . && say "us_per_roundtrip unit"
awk -F, 'NR > 1 && $4 != 2' "$csv" | grep -q . && say "workers other than 2"
[ -s "$T/a/ipc.summary.csv" ] || say "no summary"
grep -q '^msg_bytes=64,4096,65536,1048576$' "$T/a/ipc.meta" || say "meta: $(grep msg_bytes "$T/a/ipc.meta")"
grep -q 'shared memory' "$T/a.out" || say "no verdict: $(tail -5 "$T/a.out")"
# 001's isolation, in the default run: unpinned, what the parent reads of
# n = 100 after its child set 0: 0 after a thread, 100 after a process.
isolation_rows() { # CSV PYTHON(0/1)
  local want
  for ev in thread:0 process:100 py_thread:0 py_process:100; do
    e=${ev%:*} want=${ev#*:}
    [ "$2" -eq 0 ] && [ "${e#py_}" != "$e" ] && continue
    row=$(awk -F, -v e="$e" '$2 == e && $3 == "isolation" && $8 == "parent_sees"' "$1")
    [ "$(echo "$row" | grep -c .)" -eq 1 ] || { say "isolation $e: want one row: $row"; continue; }
    case "$row" in ipc,"$e",isolation,2,1,none,0,parent_sees,"$want",count,ok,) ;;
      *) say "isolation $e: want parent_sees $want, ok: $row" ;; esac
  done
}
isolation_rows "$csv" "$py"
iso_line='  001 isolation: tutorial n=100 after a child process set 0 | C process 100, thread 0 | CPython Process 100, Thread 0'
[ "$py" -eq 1 ] && { grep -qxF "$iso_line" "$T/a.out" || say "no isolation verdict line: $(grep isolation "$T/a.out")"; }

# A flipped byte: every row of the mechanisms (C, and CPython's queue.Queue
# and shared_memory) is an error naming message 5 and the offset (2051 =
# 4096 / 2 + 3); exit 3.
"$bin" "${run[@]}" --out "$T/c" --msg-bytes 4096 --workloads queue,pipe,shm,shared_memory \
  --fault-corrupt >/dev/null 2>&1
rc=$?
[ "$rc" -eq 3 ] || say "--fault-corrupt: exit $rc, want 3"
want=$((6 + 4 * py))
n=$(awk -F, '$8 == "bytes_per_s" && $11 == "error" && /message 5: byte 2051 is 0x/' "$T/c/ipc.csv" | wc -l)
[ "$n" -eq "$want" ] || say "--fault-corrupt: $n error rows naming the offset, want $want: $(cut -d, -f2,3,6,11,12 "$T/c/ipc.csv" | sort -u | head -5)"

# A receiver that dies mid-stream: crashed with its signal, every
# configuration still has its rows; exit 3.
"$bin" "${run[@]}" --out "$T/d" --msg-bytes 4096 \
  --workloads queue,pipe,socketpair,shm,mqueue,mp_pipe,shared_memory --fault-receiver-dies >/dev/null 2>&1
rc=$?
[ "$rc" -eq 3 ] || say "--fault-receiver-dies: exit $rc, want 3"
want=$((10 + 4 * py))
n=$(awk -F, '$8 == "bytes_per_s" && $11 == "crashed" && /SIGSEGV/' "$T/d/ipc.csv" | wc -l)
[ "$n" -eq "$want" ] || say "--fault-receiver-dies: $n crashed rows, want $want: $(cut -d, -f2,3,6,11,12 "$T/d/ipc.csv" | sort -u | head -5)"
[ "$py" -eq 0 ] || awk -F, '$2 == "py_thread" && $8 == "bytes_per_s" && $11 == "crashed" && /receiver thread died/' "$T/d/ipc.csv" |
  grep -q . || say "CPython's queue: no crashed row for its dead receiver thread"
awk -F, '$3 == "pipe" && $8 == "bytes_per_s" && /receiver died of SIGSEGV/' "$T/d/ipc.csv" | grep -q . ||
  say "the pipe's crashed row does not say the receiver died"

# Unpinned: one row per size, pin none.
"$bin" "${run[@]}" --out "$T/n" --pin none --msg-bytes 64 --workloads pipe >/dev/null 2>&1 || say "--pin none: exit $?"
[ "$(awk -F, 'NR > 1 && $8 == "bytes_per_s" { print $6 }' "$T/n/ipc.csv" | sort -u)" = none ] || say "--pin none: pins $(cut -d, -f6 "$T/n/ipc.csv" | sort -u | tr '\n' ' ')"

# Without python3 on PATH (the shared CPython driver, lib/core/python.c):
# Debian's /usr/bin/python3 when there is one, else the CPython rows are
# skipped, naming why; exit 0 either way.
mkdir -p "$T/p"
env PATH=/nonexistent "$bin" "${run[@]}" --out "$T/p" --msg-bytes 64 --workloads mp_pipe >/dev/null 2>&1
rc=$?
[ "$rc" -eq 0 ] || say "without python3: exit $rc, want 0"
if [ -x /usr/bin/python3 ]; then
  want='$11 == "ok"'
else
  want='$11 == "skipped" && /python3 not found/'
fi
awk -F, '$2 == "py_process" && $3 == "mp_pipe" && '"$want" "$T/p/ipc.csv" |
  grep -q . || say "without python3: $(cut -d, -f2,3,6,11,12 "$T/p/ipc.csv" | sort -u | head -3)"

# An interpreter that fails at start (--python /bin/false): every CPython
# row skipped with the reason, the C rows ok, python_skipped in .meta; exit 0.
npin=2
[ "$(nproc)" -lt 2 ] && npin=1 # no cross_pu rows on one PU
mkdir -p "$T/f"
"$bin" "${run[@]}" --python /bin/false --out "$T/f" --msg-bytes 64 --workloads pipe,mp_pipe,queue >"$T/f.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || say "--python /bin/false: exit $rc, want 0"
n=$(awk -F, 'NR > 1 && $2 ~ /^py_/' "$T/f/ipc.csv" | wc -l)
[ "$n" -eq $((6 * npin)) ] || say "--python /bin/false: $n CPython rows, want $((6 * npin)) (2 mechanisms, $npin pins, 3 metrics)"
n=$(awk -F, 'NR > 1 && $2 ~ /^py_/ && !($11 == "skipped" && /\/bin\/false could not start/)' "$T/f/ipc.csv" | wc -l)
[ "$n" -eq 0 ] || say "--python /bin/false: $n CPython rows not skipped with the reason: $(awk -F, '$2 ~ /^py_/' "$T/f/ipc.csv" | head -2)"
n=$(awk -F, 'NR > 1 && $2 !~ /^py_/ && $11 != "ok"' "$T/f/ipc.csv" | wc -l)
[ "$n" -eq 0 ] || say "--python /bin/false: $n C rows not ok"
[ "$(awk -F, 'NR > 1 && $2 !~ /^py_/' "$T/f/ipc.csv" | wc -l)" -gt 0 ] || say "--python /bin/false: the C rows are lost"
grep -q '^python_skipped=/bin/false could not start' "$T/f/ipc.meta" || say "--python /bin/false: meta: $(grep python "$T/f/ipc.meta")"

# Standard library only: without site-packages (python3 -S) nothing is
# missing and every CPython row is ok.
if [ "$py" -eq 1 ]; then
  mkdir -p "$T/s"
  printf '#!/bin/sh\nexec %s -S "$@"\n' "$(command -v python3 || echo /usr/bin/python3)" >"$T/py_nosite"
  chmod +x "$T/py_nosite"
  "$bin" "${run[@]}" --python "$T/py_nosite" --out "$T/s" --msg-bytes 64 --executors py_thread,py_process >/dev/null 2>&1 ||
    say "python3 -S: exit $?"
  n=$(awk -F, 'NR > 1 && $2 ~ /^py_/ && $11 == "ok"' "$T/s/ipc.csv" | wc -l)
  [ "$n" -eq $((15 * npin + 2)) ] || say "python3 -S: $n ok CPython rows, want $((15 * npin + 2)) (5 mechanisms, $npin pins, 3 metrics; 2 isolation)"
  grep -q '^python_missing=' "$T/s/ipc.meta" && say "python3 -S: missing $(grep python_missing "$T/s/ipc.meta")"
  grep -q "^python=$T/py_nosite\$" "$T/s/ipc.meta" || say "python3 -S: meta: $(grep python "$T/s/ipc.meta")"
fi

# --tutorial: 001's isolation and 004's constructs at 64 B, unpinned
# isolation, the estimate before and the time taken after; small sizes here
# (flags after --tutorial's win).
mkdir -p "$T/t"
"$bin" --tutorial --reps 1 --warmup 0 --min-ms 3 --py-min-ms 2 --no-plot --no-counters --out "$T/t" >"$T/t.out" 2>&1 ||
  say "--tutorial: exit $?: $(tail -3 "$T/t.out")"
isolation_rows "$T/t/ipc.csv" "$py"
[ "$py" -eq 1 ] && { grep -qxF "$iso_line" "$T/t.out" || say "--tutorial: no isolation verdict line: $(grep isolation "$T/t.out")"; }
want_wl="isolation pipe queue "
[ "$py" -eq 1 ] && want_wl="isolation manager_list mp_pipe mp_queue pipe queue "
got_wl=$(awk -F, 'NR > 1 { print $3 }' "$T/t/ipc.csv" | sort -u | tr '\n' ' ')
[ "$got_wl" = "$want_wl" ] || say "--tutorial: workloads $got_wl, want $want_wl"
[ "$(awk -F, 'NR > 1 && $3 != "isolation" { print $5 }' "$T/t/ipc.csv" | sort -u)" = 64 ] || say "--tutorial: sizes other than 64"
grep -q '^ipc --tutorial: .*expected to take about [0-9]* s on this machine' "$T/t.out" || say "--tutorial: no estimate: $(head -2 "$T/t.out")"
grep -q '^--tutorial: took [0-9]* s, estimated' "$T/t.out" || say "--tutorial: no time taken"
grep -q '^tutorial=1$' "$T/t/ipc.meta" || say "--tutorial: meta tutorial"

# Bad values: one line naming the value and what is allowed; exit 2.
check_bad() {
  local want="$1"
  shift
  "$bin" "$@" --out "$T/a" >"$T/bad.out" 2>"$T/bad.err"
  local rc=$?
  [ "$rc" -eq 2 ] || say "$*: exit $rc, want 2"
  [ "$(wc -l <"$T/bad.err")" -eq 1 ] || say "$*: want one line: $(cat "$T/bad.err")"
  grep -q -- "$want" "$T/bad.err" || say "$*: the line does not say '$want': $(cat "$T/bad.err")"
}
check_bad "'4'.*8 to 16777216" --msg-bytes 4
check_bad "'16777217'.*8 to 16777216" --msg-bytes 64,16777217
check_bad "'abc'" --msg-bytes abc
check_bad "'0'" --min-ms 0
check_bad "nosuch" --workloads nosuch

[ "$fail" -eq 0 ] && echo "ipc: every key of a quick run, both faults, the CPython driver's paths, 001's isolation and --tutorial, bad values refused"
exit "$fail"
