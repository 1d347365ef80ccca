#!/usr/bin/env bash
# The CPython reference is a measured configuration like any other (against
# the real binary, with a stand-in `python3` first on PATH that misbehaves
# on purpose): one that hangs in calibration or in a run is ended at the
# timeout with its whole process tree; one that dies of a signal is
# `crashed`; one that fails or writes an unreadable CSV is `error`; one that
# leaves a child holding its stdout, or closes its stdout and hangs, costs
# no more than the limit and leaves nobody behind. Each: exit 3, the C rows
# still ok, the reason in the detail column.
set -uo pipefail
bin="$1"
T="$TEST_TMPDIR"
fail=0
say_fail() { echo "FAIL: $*"; fail=1; }
mkdir -p "$T/fake"
marker="cb_pyref_fault_$$"
cat >"$T/fake/python3" <<EOF2
#!/usr/bin/env bash
# A misbehaving python3: \$CB_FAKE_MODE says how. It answers the shared
# driver's --probe (so that it is the interpreter chosen); the calibration
# (--calibrate) prints python_cpu_iters=N.
calib=0; out=""
while [ \$# -gt 0 ]; do
  case "\$1" in
    --probe) printf '3.11.2\\t\\n'; exit 0 ;;
    --calibrate) calib=1 ;;
    --out) out="\$2"; shift ;;
  esac
  shift
done
case "\$CB_FAKE_MODE" in
  hang_calibrate) [ \$calib = 1 ] && exec -a $marker sleep 300 ;;
  hang_run) [ \$calib = 1 ] && { echo python_cpu_iters=1000; exit 0; }; exec -a $marker sleep 300 ;;
  crash) [ \$calib = 1 ] && { echo python_cpu_iters=1000; exit 0; }; kill -SEGV \$\$ ;;
  fail) [ \$calib = 1 ] && { echo python_cpu_iters=1000; exit 0; }; echo "Traceback: boom" >&2; exit 1 ;;
  garbage) [ \$calib = 1 ] && { echo python_cpu_iters=1000; exit 0; }; printf 'not,a\\ncsv' >"\$out"; exit 0 ;;
  orphan) [ \$calib = 1 ] && { (exec -a $marker sleep 300) & echo python_cpu_iters=1000; exit 0; } ;;
  closed) exec >&- ; exec -a $marker sleep 300 ;;
esac
exit 1
EOF2
chmod +x "$T/fake/python3"
run=(--quick --reps 1 --warmup 0 --no-plot --executors serial,py_serial --workloads cpu
     --cpu-iters 100000 --timeout 2)
for mode in hang_calibrate hang_run crash fail garbage orphan closed; do
  d="$T/$mode"; mkdir -p "$d"
  t0=$(date +%s)
  CB_FAKE_MODE=$mode PATH="$T/fake:$PATH" timeout 120 "$bin" "${run[@]}" --out "$d" >"$d.out" 2>&1
  rc=$?
  el=$(($(date +%s) - t0))
  row=$(awk -F, '$2 == "py_serial" && $8 == "wall_s"' "$d/cpu_vs_io.csv" 2>/dev/null | head -1)
  st=$(echo "$row" | cut -d, -f11)
  case $mode in
    hang_*|closed) want=timeout ;;
    crash) want=crashed ;;
    orphan) want="" ;; # calibration fine, then it exits 1: error; the point is the orphan
    *) want=error ;;
  esac
  [ "$rc" -eq 3 ] || say_fail "$mode: exit $rc, want 3: $(tail -3 "$d.out")"
  [ -z "$want" ] || [ "$st" = "$want" ] || say_fail "$mode: py_serial status '$st', want $want: $row"
  [ -n "$st" ] && [ "$st" != ok ] && [ "$st" != skipped ] || say_fail "$mode: py_serial row '$row'"
  [ "$(awk -F, '$2 == "serial" && $8 == "wall_s" && $11 == "ok"' "$d/cpu_vs_io.csv" | wc -l)" -ge 1 ] ||
    say_fail "$mode: the C rows did not run ok"
  # 2 s per configuration + 10 s for the interpreter's start, once for the
  # calibration or the run, plus 1 s of grace: well under 30 s.
  [ "$el" -le 30 ] || say_fail "$mode: took $el s"
  sleep 0.2
  if pgrep -f "$marker" >/dev/null; then
    say_fail "$mode: a process of the reference outlived the harness"; pkill -KILL -f "$marker"
  fi
  echo "$mode: py_serial $st ($(echo "$row" | cut -d, -f12)), exit $rc, $el s"
done
# A TMPDIR that does not exist: the rows say so, naming it; they do not
# vanish.
d="$T/tmpdir"; mkdir -p "$d"
CB_FAKE_MODE=hang_run TMPDIR=/nonexistent/cb_tmp PATH="$T/fake:$PATH" "$bin" "${run[@]}" --out "$d" \
  >"$d.out" 2>&1
rc=$?
row=$(awk -F, '$2 == "py_serial" && $8 == "wall_s"' "$d/cpu_vs_io.csv" | head -1)
[ "$rc" -eq 3 ] && case "$row" in *,error,*/nonexistent/cb_tmp*) true ;; *) false ;; esac ||
  say_fail "tmpdir: exit $rc, row '$row'"
echo "tmpdir: $(echo "$row" | cut -d, -f11-)"
exit "$fail"
