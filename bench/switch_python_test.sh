#!/usr/bin/env bash
# switch's CPython rows at a small size: each hand-over ok (greenlet ok when
# an interpreter has it, else skipped naming the module); with an
# interpreter that cannot import greenlet (python3 -S: no site-packages) the
# greenlet rows are skipped with the reason and the others still ok; the
# verdict's lines.
set -uo pipefail
bin="$1"
T="$TEST_TMPDIR"
fail=0
run=(--quick --reps 1 --warmup 0 --min-ms 5 --no-plot)
mkdir -p "$T/a" "$T/b"
"$bin" "${run[@]}" --out "$T/a" >"$T/a.out" 2>"$T/a.err" || { echo "FAIL: exit $?: $(tail -3 "$T/a.err")"; fail=1; }
csv="$T/a/switch.csv"
for ew in py_thread:event:same_pu py_process:mp_pipe:same_pu py_coroutine:generator:same_pu py_coroutine:asyncio:same_pu; do
  IFS=: read -r e w pin <<<"$ew"
  k=$(awk -F, -v e="$e" -v w="$w" -v p="$pin" '$2 == e && $3 == w && $6 == p && $8 == "ns_per_switch" && $11 == "ok" && $9 > 0' "$csv" | wc -l)
  [ "$k" -eq 1 ] || { echo "FAIL: $e $w $pin: $k ok rows of 1"; fail=1; }
done
g=$(awk -F, '$2 == "py_coroutine" && $3 == "greenlet" && $8 == "ns_per_switch"' "$csv")
case "$g" in *,ok,*|*,skipped,*"No module named 'greenlet'"*) ;; *) echo "FAIL: greenlet row: $g"; fail=1 ;; esac
grep -q "^  CPython  greenlet" "$T/a.out" || { echo "FAIL: no CPython verdict line"; fail=1; }
grep -q "^  CPython  a thread hand-over costs .*x one generator switch" "$T/a.out" || { echo "FAIL: no generator ratio line"; fail=1; }
py=$(command -v python3 || echo /usr/bin/python3)
printf '#!/bin/sh\nexec %s -S "$@"\n' "$py" >"$T/py_nosite"
chmod +x "$T/py_nosite"
"$bin" "${run[@]}" --python "$T/py_nosite" --executors py_coroutine --out "$T/b" >/dev/null 2>"$T/b.err" || { echo "FAIL: -S: exit $?: $(tail -2 "$T/b.err")"; fail=1; }
g=$(awk -F, '$3 == "greenlet" && $8 == "ns_per_switch"' "$T/b/switch.csv")
case "$g" in *,skipped,*"No module named 'greenlet'"*) ;; *) echo "FAIL: greenlet without site-packages: $g"; fail=1 ;; esac
k=$(awk -F, '$3 == "generator" && $8 == "ns_per_switch" && $11 == "ok"' "$T/b/switch.csv" | wc -l)
[ "$k" -eq 1 ] || { echo "FAIL: -S: the generator row did not run"; fail=1; }
grep -q '^python_missing=greenlet$' "$T/b/switch.meta" || { echo "FAIL: meta python_missing"; fail=1; }
[ "$fail" -eq 0 ] && echo "switch: CPython rows ok; $(grep 'x one generator' "$T/a.out")"
exit "$fail"
