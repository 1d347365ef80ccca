#!/usr/bin/env bash
# Drives the real bench binaries: --plan on synthetic topologies, and every
# bad flag value of the contract refused with exit 2 and one line naming it,
# before anything runs (no results file appears).
set -uo pipefail
fail=0
bin="$1"
out="$TEST_TMPDIR/out"
mkdir -p "$out"

check_refused() { # value-to-find, args...
  local want="$1"; shift
  local err rc
  err=$("$bin" --out "$out" --no-plot "$@" 2>&1 >/dev/null); rc=$?
  if [ "$rc" -ne 2 ]; then echo "FAIL: $* -> exit $rc, want 2 ($err)"; fail=1; return; fi
  if [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ]; then echo "FAIL: $* -> not one line: $err"; fail=1; fi
  case "$err" in *"$want"*) ;; *) echo "FAIL: $* -> message does not name '$want': $err"; fail=1;; esac
  if [ -n "$(ls -A "$out")" ]; then echo "FAIL: $* wrote files: $(ls -A "$out")"; fail=1; fi
}

for v in 0 -1 abc 4x 99999999999999999999; do
  check_refused "'$v'" --tasks "$v"
  check_refused "'$v'" --reps "$v"
  check_refused "$v" --workers "$v"
done
check_refused "'threads'" --executors threads
check_refused "'disk'" --workloads cpu,disk
check_refused "sideways" --pin sideways
check_refused "4x" --pin 0,4x
check_refused "4096" --pin 4096
check_refused "/nonexistent" --out /nonexistent
check_refused "--frobnicate" --frobnicate
check_refused "'0'" --timeout 0
# A task count whose memory cannot fit is refused before anything runs,
# with the estimate and the machine's memory (not left to the OOM killer).
check_refused "needs about" --tasks 100000000 --executors coroutine
check_refused "GiB available" --tasks 100000000 --executors thread --workloads io

# A name twice would run one configuration twice, both as rep 0.
check_refused "'serial' given twice" --executors serial,thread,serial
check_refused "'cpu' given twice" --workloads cpu,cpu
# An --out whose result names would pass PATH_MAX: refused before the run,
# not after it.
long="$TEST_TMPDIR"
while [ ${#long} -lt 4040 ]; do long="$long/dddddddddddddddddddddddddddddddddddddddd"; done
long="$long/$(printf "%0$((4080 - ${#long}))d" 0)"
if mkdir -p "$long"; then check_refused "too long" --out "$long"; else echo "FAIL: cannot make a ${#long}-byte path"; fail=1; fi

# A PU outside the allowed set under taskset -c: only when this host has two PUs
# to choose from and taskset exists.
if command -v taskset >/dev/null && [ "$(nproc --all)" -ge 2 ]; then
  err=$(taskset -c 0 "$bin" --out "$out" --pin 1 2>&1 >/dev/null); rc=$?
  if [ "$rc" -ne 2 ] || [[ "$err" != *"PU 1"* ]]; then
    echo "FAIL: taskset -c 0 --pin 1 -> exit $rc: $err"; fail=1
  fi
fi

# --plan on this machine: the contract's format.
plan=$("$bin" --plan) || { echo "FAIL: --plan exit $?"; fail=1; }
if ! printf '%s\n' "$plan" | head -1 | grep -Eq '^topology packages=[0-9]+ numa=[0-9]+ cores=[0-9]+ pus=[0-9]+ allowed=[0-9,-]+$'; then
  echo "FAIL: --plan first line: $(printf '%s\n' "$plan" | head -1)"; fail=1
fi
printf '%s\n' "$plan" | sed -n '2p' | grep -Eq '^worker 0 pu [0-9]+ core [0-9]+ package [0-9]+$' \
  || { echo "FAIL: --plan worker line: $plan"; fail=1; }

# The synthetic 2-package machine: scatter puts 4 workers on 4 cores, 2 per package.
plan=$(HWLOC_SYNTHETIC="pack:2 core:4 pu:2" "$bin" --plan --pin scatter --workers 4) \
  || { echo "FAIL: synthetic --plan exit $?"; fail=1; }
echo "$plan"
printf '%s\n' "$plan" | head -1 | grep -q '^topology packages=2 numa=[0-9]* cores=8 pus=16 ' \
  || { echo "FAIL: synthetic topology line"; fail=1; }
cores=$(printf '%s\n' "$plan" | awk '/^worker/ {print $6}' | sort -u | wc -l)
p0=$(printf '%s\n' "$plan" | awk '/^worker/ && $8 == 0' | wc -l)
p1=$(printf '%s\n' "$plan" | awk '/^worker/ && $8 == 1' | wc -l)
[ "$cores" -eq 4 ] && [ "$p0" -eq 2 ] && [ "$p1" -eq 2 ] \
  || { echo "FAIL: scatter: $cores cores, $p0 + $p1 per package"; fail=1; }

# Wrap-around is said.
HWLOC_SYNTHETIC="pack:1 core:2 pu:1" "$bin" --plan --workers 3 | grep -q '^# ' \
  || { echo "FAIL: wrap-around not said"; fail=1; }

# A real run on a synthetic topology refuses to bind, with one line.
err=$(HWLOC_SYNTHETIC="pack:2 core:4 pu:2" "$bin" --out "$out" --quick 2>&1 >/dev/null); rc=$?
[ "$rc" -eq 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] \
  || { echo "FAIL: synthetic real run: exit $rc: $err"; fail=1; }

# --help, --version, --list.
"$bin" --help | grep -q -- '--executors' || { echo "FAIL: --help"; fail=1; }
"$bin" --version | grep -q '^cpu_vs_io ' || { echo "FAIL: --version"; fail=1; }
"$bin" --list | grep -q 'fault' || { echo "FAIL: --list lacks the fault heading"; fail=1; }

# --check-system: the report alone (nothing measured, nothing written), exit
# 0 with no warnings and 1 with some, the count in its last line.
rm -rf "$out/cs" && mkdir -p "$out/cs"
rep=$("$bin" --check-system --out "$out/cs" 2>&1); rc=$?
n=$(printf '%s\n' "$rep" | awk '/^[0-9]+ warnings?$/ {print $1}')
{ [ -n "$n" ] && { { [ "$n" -eq 0 ] && [ "$rc" -eq 0 ]; } || { [ "$n" -gt 0 ] && [ "$rc" -eq 1 ]; }; }; } \
  || { echo "FAIL: --check-system: exit $rc with '$n' warnings: $rep"; fail=1; }
for item in "CPU frequency governor" "Turbo / boost" "ASLR" "SMT" "Isolated CPUs" "Load average" \
  "Transparent huge pages" "Hypervisor" "Swap in use" "perf_event_paranoid"; do
  printf '%s\n' "$rep" | grep -q "^  $item" || { echo "FAIL: --check-system lacks $item"; fail=1; }
done
[ -z "$(ls -A "$out/cs")" ] || { echo "FAIL: --check-system wrote $(ls -A "$out/cs")"; fail=1; }

[ "$fail" -eq 0 ] && echo "all command-line checks passed"
exit "$fail"
