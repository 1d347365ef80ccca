#!/usr/bin/env bash
# A run owns its results set (issue: two runs sharing --out corrupted each
# other; --append pooled samples of other sizes). Against the real binary:
#  1. two runs at once on one --out, 40 times: the second waits for the
#     first (with a message), both exit 0, and the CSV, summary and meta on
#     disk always come from one run;
#  2. two --append runs at once: neither loses repetitions;
#  3. --append refuses a base measured with another parameter (naming the
#     key and both values), another experiment's CSV, and a base without
#     .meta; each exit 2, one line, the files unchanged.
set -uo pipefail
bin="$1"
T="$TEST_TMPDIR"
fail=0
say_fail() { echo "FAIL: $*"; fail=1; }
run=(--quick --reps 1 --warmup 0 --no-python --no-plot --executors serial --workloads cpu
     --cpu-iters 200000)

# 1. Side by side, 40 times.
d="$T/race"; mkdir -p "$d"
waited=0
for i in $(seq 40); do
  "$bin" "${run[@]}" --tasks 2 --out "$d" >/dev/null 2>"$T/a.err" & a=$!
  "$bin" "${run[@]}" --tasks 3 --out "$d" >/dev/null 2>"$T/b.err" & b=$!
  wait "$a"; ra=$?; wait "$b"; rb=$?
  [ "$ra" -eq 0 ] && [ "$rb" -eq 0 ] || { say_fail "1.$i: exits $ra and $rb"; cat "$T/a.err" "$T/b.err"; break; }
  grep -q 'waiting for it to finish' "$T/a.err" "$T/b.err" && waited=$((waited + 1))
  t_csv=$(awk -F, 'NR > 1 {print $5}' "$d/cpu_vs_io.csv" | sort -u)
  t_sum=$(awk -F, 'NR > 1 {print $5}' "$d/cpu_vs_io.summary.csv" | sort -u)
  t_meta=$(sed -n 's/^command_line=.*--tasks \([0-9]*\).*/\1/p' "$d/cpu_vs_io.meta")
  [ "$t_csv" = "$t_sum" ] && [ "$t_sum" = "$t_meta" ] ||
    { say_fail "1.$i: mixed set: csv tasks $t_csv, summary $t_sum, meta $t_meta"; break; }
done
echo "1: 40 pairs of runs on one --out, no mixed set; the second waited in $waited of them"
[ -z "$(ls -A "$d" | grep -E '^\.')" ] || say_fail "1: files left in --out: $(ls -A "$d" | grep -E '^\.')"

# 2. Two --append runs at once keep every repetition.
d="$T/app"; mkdir -p "$d"
"$bin" "${run[@]}" --out "$d" >/dev/null 2>&1 || say_fail "2: base run failed"
"$bin" "${run[@]}" --reps 2 --append --out "$d" >/dev/null 2>&1 & a=$!
"$bin" "${run[@]}" --reps 2 --append --out "$d" >/dev/null 2>&1 & b=$!
wait "$a"; ra=$?; wait "$b"; rb=$?
[ "$ra" -eq 0 ] && [ "$rb" -eq 0 ] || say_fail "2: exits $ra and $rb"
reps=$(awk -F, '$2 == "serial" && $8 == "wall_s" {print $7}' "$d/cpu_vs_io.csv" | sort -n | tr '\n' ' ')
[ "$reps" = "0 1 2 3 4 " ] || say_fail "2: repetitions after two concurrent appends: $reps"

# 3. Refusals.
refused() { # what, want-in-message, args...
  local what="$1" want="$2"
  shift 2
  cp "$d/cpu_vs_io.csv" "$T/before.csv"
  err=$("$bin" "$@" 2>&1 >/dev/null); rc=$?
  [ "$rc" -eq 2 ] || say_fail "3 $what: exit $rc, want 2 ($err)"
  [ "$(printf '%s\n' "$err" | grep -vc '^cpu_vs_io \[')" -eq 1 ] || say_fail "3 $what: not one line: $err"
  case "$err" in *"$want"*) ;; *) say_fail "3 $what: message lacks '$want': $err" ;; esac
  cmp -s "$d/cpu_vs_io.csv" "$T/before.csv" || say_fail "3 $what: the base changed"
}
refused "other size" "cpu_iters differs: the base ($d/cpu_vs_io.meta) has 200000, this run 300000" \
  "${run[@]}" --cpu-iters 300000 --append --out "$d"
refused "other io" "io_ms differs" "${run[@]}" --io-ms 7 --append --out "$d"
mkdir -p "$T/other" && cp "$d/cpu_vs_io.csv" "$T/other/spawn.csv" && cp "$d/cpu_vs_io.meta" "$T/other/spawn.meta"
spawn="$(dirname "$bin")/spawn"
if [ -x "$spawn" ]; then
  err=$("$spawn" --quick --append --out "$T/other" 2>&1 >/dev/null); rc=$?
  [ "$rc" -eq 2 ] && case "$err" in *"experiment=cpu_vs_io, this run is spawn"*) true ;; *) false ;; esac ||
    say_fail "3 other experiment: exit $rc: $err"
fi
mv "$d/cpu_vs_io.meta" "$T/meta.saved"
refused "no meta" "cpu_vs_io.meta missing" "${run[@]}" --append --out "$d"
mv "$T/meta.saved" "$d/cpu_vs_io.meta"
[ "$fail" -eq 0 ] && echo "results sets: owned by one run at a time; --append pools only like with like"
exit "$fail"
