#!/usr/bin/env bash
# Renders a plot script from a fixture summary CSV (a real run's, kept in
# plots/testdata/) and checks that gnuplot wrote a non-empty PNG of the size
# the script asks for, and an SVG.
#   render_test.sh SCRIPT FIXTURE WIDTH HEIGHT
set -uo pipefail
script="$1" fixture="$2" want_w="$3" want_h="$4"
out="$TEST_TMPDIR"
# Fontconfig wants a writable cache; the test sandbox keeps $HOME read-only
# (a fresh machine has no ~/.cache/fontconfig yet).
export XDG_CACHE_HOME="$TEST_TMPDIR/cache"
mkdir -p "$XDG_CACHE_HOME"
command -v gnuplot >/dev/null || { echo "FAIL: gnuplot not installed (scripts/setup.sh installs gnuplot-nox)"; exit 1; }
gnuplot -e "summaryfile='$fixture'; outpng='$out/p.png'; outsvg='$out/p.svg'; plotdir='$(dirname "$script")'" "$script" 2>"$out/gnuplot.err"
rc=$?
if [ "$rc" -ne 0 ]; then echo "FAIL: gnuplot exit $rc:"; cat "$out/gnuplot.err"; exit 1; fi
if [ -s "$out/gnuplot.err" ]; then echo "FAIL: gnuplot warned:"; cat "$out/gnuplot.err"; exit 1; fi
[ -s "$out/p.png" ] || { echo "FAIL: no PNG"; exit 1; }
# PNG: 8-byte signature, then the IHDR chunk: length, "IHDR", width, height
# (big-endian 32-bit) at bytes 16-23.
sig=$(od -An -tx1 -N8 "$out/p.png" | tr -d ' \n')
[ "$sig" = "89504e470d0a1a0a" ] || { echo "FAIL: not a PNG ($sig)"; exit 1; }
w=$(od -An -tu1 -j16 -N4 "$out/p.png" | awk '{print ($1*16777216)+($2*65536)+($3*256)+$4}')
h=$(od -An -tu1 -j20 -N4 "$out/p.png" | awk '{print ($1*16777216)+($2*65536)+($3*256)+$4}')
[ "$w" = "$want_w" ] && [ "$h" = "$want_h" ] || { echo "FAIL: PNG is ${w}x${h}, want ${want_w}x${want_h}"; exit 1; }
# A plot with bars is far larger than an empty frame.
size=$(stat -c %s "$out/p.png")
[ "$size" -gt 20000 ] || { echo "FAIL: PNG only $size bytes: nothing drawn?"; exit 1; }
grep -q '<svg' "$out/p.svg" || { echo "FAIL: no SVG"; exit 1; }
echo "rendered ${w}x${h}, $size bytes"

# Every subset a user can ask for renders too (a run of --workloads cpu, or
# of one executor): each executor's and each workload's rows of the fixture
# alone, without a gnuplot error or warning.
meta="${fixture%.summary.csv}.meta"
n=0
for col in 2 3; do
  for v in $(awk -F, -v c=$col 'NR > 1 { print $c }' "$fixture" | sort -u); do
    sub="$out/sub/x.summary.csv"
    mkdir -p "$out/sub"
    awk -F, -v c=$col -v v="$v" 'NR == 1 || $c == v' "$fixture" >"$sub"
    [ -e "$meta" ] && cp "$meta" "$out/sub/x.meta"
    rm -f "$out/s.png"
    if ! gnuplot -e "summaryfile='$sub'; outpng='$out/s.png'; outsvg='$out/s.svg'; plotdir='$(dirname "$script")'" "$script" 2>"$out/sub.err" ||
      [ -s "$out/sub.err" ] || [ ! -s "$out/s.png" ]; then
      echo "FAIL: the rows of $v alone (column $col) do not render:"; cat "$out/sub.err"; exit 1
    fi
    n=$((n + 1))
  done
done
echo "and $n subsets (one executor or one workload each)"
