#!/usr/bin/env bash
# A newcomer's project outside this repository (examples/outside: a
# WORKSPACE naming the harness as a local_repository, a BUILD with one
# cc_binary on @concbench//:concbench_main, one workload): copied to a
# temporary folder, built with Bazel there, run --quick, and checked for the
# harness's files (CSV, summary, meta, plot) with every row ok, and for a
# refusal of a bad flag. Run by .ci/run after the tests.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
t=$(mktemp -d)
trap 'cd /; bazel --output_user_root="$t/root" shutdown >/dev/null 2>&1; rm -rf "$t"' EXIT
fail=0
cp -r "$here/examples/outside" "$t/proj"
sed "s|@CONCBENCH@|$here|g" "$t/proj/WORKSPACE.in" >"$t/proj/WORKSPACE"
rm "$t/proj/WORKSPACE.in"
cd "$t/proj"
echo "+ bazel build //:mine (in $t/proj)"
if ! bazel --output_user_root="$t/root" build -c opt //:mine >"$t/build.log" 2>&1; then
  echo "FAIL: the outside project does not build:"; tail -30 "$t/build.log"; exit 1
fi
out="$t/results"; mkdir -p "$out"
bazel --output_user_root="$t/root" run -c opt //:mine -- --quick --reps 2 --out "$out" \
  >"$t/run.log" 2>&1 || { echo "FAIL: run exited $?:"; tail -20 "$t/run.log"; fail=1; }
for f in mine.csv mine.summary.csv mine.meta mine.png mine.svg; do
  [ -s "$out/$f" ] || { echo "FAIL: $f missing"; fail=1; }
done
bad=$(awk -F, 'NR > 1 && $8 == "wall_s" && $11 != "ok"' "$out/mine.csv" | head -3)
[ -z "$bad" ] || { echo "FAIL: rows not ok: $bad"; fail=1; }
n=$(awk -F, 'NR > 1 && $3 == "squares" && $8 == "wall_s" && $11 == "ok"' "$out/mine.csv" | wc -l)
[ "$n" -ge 10 ] || { echo "FAIL: only $n ok wall_s rows of squares"; fail=1; }
[ -z "$(ls -A "$out" | grep '^\.')" ] || { echo "FAIL: left behind: $(ls -A "$out" | grep '^\.')"; fail=1; }
err=$(bazel-bin/mine --reps 0 2>&1 >/dev/null); rc=$?
[ "$rc" -eq 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] \
  || { echo "FAIL: --reps 0: exit $rc: $err"; fail=1; }
[ "$fail" -eq 0 ] && echo "outside project: built, ran $n ok squares rows, files complete"
exit "$fail"
