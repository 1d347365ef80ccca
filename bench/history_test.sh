#!/usr/bin/env bash
# --history end to end against the real binary: the first run creates the
# history CSV (a header, then one row per summary row, each prefixed with the
# git revision, the UTC start time and the host of that run's meta); a second
# run appends its rows under the same header, keeping the first run's; a run
# that fails before measuring leaves the history untouched; a history that
# cannot be written or is not a history is refused before anything runs.
set -uo pipefail
bin="$1"
T="$TEST_TMPDIR"
fail=0
say_fail() { echo "FAIL: $*"; fail=1; }
run=(--quick --reps 2 --warmup 0 --no-python --no-plot --executors serial,thread
     --workloads cpu --cpu-iters 100000)
hist="$T/h/history.csv"
mkdir -p "$T/a" "$T/b" "$T/h"

"$bin" "${run[@]}" --out "$T/a" --history "$hist" >"$T/a.log" 2>&1 || say_fail "first run exit $?"
[ -s "$hist" ] || { say_fail "no history after the first run"; cat "$T/a.log"; exit 1; }
want_header="git_revision,utc,host,$(head -1 "$T/a/cpu_vs_io.summary.csv")"
[ "$(head -1 "$hist")" = "$want_header" ] || say_fail "header: $(head -1 "$hist")"
n_sum=$(($(wc -l <"$T/a/cpu_vs_io.summary.csv") - 1))
[ "$(($(wc -l <"$hist") - 1))" -eq "$n_sum" ] ||
  say_fail "first run: $(($(wc -l <"$hist") - 1)) history rows for $n_sum summary rows"
# Each row: the run's meta facts, then the summary row as written.
utc=$(sed -n 's/^utc_start=//p' "$T/a/cpu_vs_io.meta")
host=$(sed -n 's/^host=//p' "$T/a/cpu_vs_io.meta")
rev=$(sed -n 's/^git_revision=//p' "$T/a/cpu_vs_io.meta")
[ -n "$utc" ] && [ -n "$host" ] || say_fail "meta lacks utc_start or host"
tail -n +2 "$T/a/cpu_vs_io.summary.csv" | sed "s|^|$rev,$utc,$host,|" >"$T/want"
tail -n +2 "$hist" | diff - "$T/want" >/dev/null || say_fail "history rows differ from meta + summary"
grep -q ',serial,cpu,.*,wall_s,' "$hist" || say_fail "no serial wall_s row"
grep -q ',thread,cpu,.*,speedup,' "$hist" || say_fail "no derived speedup row"

# A second run appends under the same header.
sleep 1 # a distinct utc_start
cp "$hist" "$T/first"
"$bin" "${run[@]}" --out "$T/b" --history "$hist" >"$T/b.log" 2>&1 || say_fail "second run exit $?"
[ "$(grep -c '^git_revision,' "$hist")" -eq 1 ] || say_fail "header repeated"
[ "$(($(wc -l <"$hist") - 1))" -eq $((2 * n_sum)) ] || say_fail "second run: $(wc -l <"$hist") lines"
head -n $((n_sum + 1)) "$hist" | cmp -s - "$T/first" || say_fail "the first run's rows changed"
utc2=$(sed -n 's/^utc_start=//p' "$T/b/cpu_vs_io.meta")
[ "$(grep -c ",$utc2,$host," "$hist")" -eq "$n_sum" ] || say_fail "second run's rows not under its utc"

# Bad usage before measuring: the history is not touched.
cp "$hist" "$T/before"
"$bin" "${run[@]}" --reps 0 --out "$T/b" --history "$hist" >/dev/null 2>&1
[ $? -eq 2 ] || say_fail "--reps 0 did not exit 2"
cmp -s "$hist" "$T/before" || say_fail "a refused run changed the history"
"$bin" "${run[@]}" --out "$T/b" --history "" >/dev/null 2>"$T/empty.err"
[ $? -eq 2 ] && grep -q -- '--history' "$T/empty.err" || say_fail "--history '' not refused"

# Checked before anything runs (exit 2, one line naming the path, the
# results folder untouched): a history whose folder is a plain file (refused
# for root too), one whose folder does not exist, and a foreign file (a
# results CSV, not a history).
: >"$T/notadir"
head -c 64 /dev/urandom >"$T/garbage"
cp "$T/b/cpu_vs_io.csv" "$T/b.before"
for h in "$T/notadir/h.csv" "$T/nosuch/h.csv" "$T/a/cpu_vs_io.csv" "$T/garbage"; do
  cp "$h" "$T/h.before" 2>/dev/null || rm -f "$T/h.before"
  "$bin" "${run[@]}" --out "$T/b" --history "$h" >/dev/null 2>"$T/bad.err"; rc=$?
  [ "$rc" -eq 2 ] || say_fail "--history $h: exit $rc, want 2"
  [ "$(wc -l <"$T/bad.err")" -eq 1 ] && grep -q -- "--history $h" "$T/bad.err" ||
    say_fail "--history $h: not one line naming it: $(cat "$T/bad.err")"
  cmp -s "$T/b/cpu_vs_io.csv" "$T/b.before" || say_fail "--history $h: results changed"
  [ ! -e "$T/h.before" ] || cmp -s "$h" "$T/h.before" || say_fail "--history $h: the file changed"
done
[ "$fail" -eq 0 ] && echo "history: $n_sum rows per run, appended under one header"
exit "$fail"
