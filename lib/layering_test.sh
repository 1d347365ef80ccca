#!/usr/bin/env bash
# Checks the layer order of lib/ in the sources themselves: each layer's
# files include only headers of the layers it stands on (tests may add
# lib/testing), and each BUILD's deps name only those layers. Prints every
# breach, one per line, and fails on any.
set -uo pipefail
cd "${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-concbench}" 2>/dev/null || true
declare -A allowed=(
  [core]="core"
  [exec]="core exec"
  [wl]="core wl"
  [exp]="core exec wl exp"
  [user]="core exec wl exp user"
  [compare]="core compare"
  [fuzz]="core"
)
bad=0 checked=0
for layer in "${!allowed[@]}"; do
  for f in lib/"$layer"/*.c lib/"$layer"/*.cc lib/"$layer"/*.h lib/"$layer"/*.S; do
    [ -e "$f" ] || continue
    checked=$((checked + 1))
    ok=" ${allowed[$layer]} "
    case "$f" in *_test.cc) ok="$ok testing " ;; esac
    while IFS=: read -r line inc; do
      to=${inc#lib/}
      to=${to%%/*}
      case "$ok" in *" $to "*) ;; *) echo "BREACH: $f:$line includes $inc (layer $layer stands on: ${allowed[$layer]})"; bad=1 ;; esac
    done < <(grep -n -o '^#include "lib/[a-z_]*/[^"]*"' "$f" | sed 's/#include "//; s/"$//')
  done
  b=lib/"$layer"/BUILD
  [ -e "$b" ] || continue
  while IFS= read -r dep; do
    to=${dep#//lib/}
    to=${to%%[:/]*}
    ok=" ${allowed[$layer]} testing "
    case "$ok" in *" $to "*) ;; *) echo "BREACH: $b depends on $dep (layer $layer stands on: ${allowed[$layer]})"; bad=1 ;; esac
  done < <(grep -o '"//lib/[a-z_]*[^"]*"' "$b" | tr -d '"' | grep -v -e '^//lib:' -e '__pkg__' -e '__subpackages__')
done
[ "$checked" -ge 40 ] || { echo "FAIL: only $checked files found: the data is missing"; exit 1; }
[ "$bad" -eq 0 ] && echo "layering: $checked files, every include and dep in order"
exit "$bad"
