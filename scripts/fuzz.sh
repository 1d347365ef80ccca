#!/usr/bin/env bash
# Fuzzes the CSV reader/writer, the results and .meta readers, and the
# command-line parser with libFuzzer (clang -fsanitize=fuzzer, with
# AddressSanitizer and UndefinedBehaviorSanitizer), each for a bounded time.
# Not part of `bazel test` (which replays the saved inputs through each target:
# //lib/fuzz:fuzz_replay_test); .ci/run runs it for 60 s a target.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 60)
#
# Needs clang and its fuzzer runtime (Debian: apt-get install -y clang
# libclang-rt-14-dev, if -fsanitize=fuzzer does not link). Builds into
# $FUZZ_DIR (default /tmp/concbench-fuzz); each target's corpus grows there,
# seeded from lib/fuzz/corpus/TARGET/. A crash leaves crash-* files in
# $FUZZ_DIR/TARGET/ and the script exits 1: copy the input into
# lib/fuzz/regressions/ named TARGET-without-_fuzz_WHAT (csv_..., results_...;
# //lib/fuzz:fuzz_replay_test replays every file there through its target
# under `bazel test`), then fix the bug.
set -euo pipefail
secs="${1:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${FUZZ_DIR:-/tmp/concbench-fuzz}"
mkdir -p "$out"
cc="${CC:-clang}"
flags=(-g -O1 -std=gnu11 -D_GNU_SOURCE -fno-omit-frame-pointer
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I"$root")

declare -A srcs=(
  [csv_fuzz]="lib/core/csv.c lib/core/afile.c"
  # The core library whole (its files link each other as the build does).
  [results_fuzz]="$(cd "$root" && echo lib/core/*.c)"
  [cli_fuzz]="$(cd "$root" && echo lib/core/*.c)"
)
declare -A libs=([csv_fuzz]="" [results_fuzz]="-lhwloc -ljansson -lm -pthread" [cli_fuzz]="-lhwloc -ljansson -lm -pthread")

status=0
for t in csv_fuzz results_fuzz cli_fuzz; do
  bin="$out/$t.bin"
  echo "== $t: building"
  # shellcheck disable=SC2086
  (cd "$root" && "$cc" "${flags[@]}" "lib/fuzz/$t.c" ${srcs[$t]} -o "$bin" ${libs[$t]})
  mkdir -p "$out/$t/corpus"
  if [ -d "$root/lib/fuzz/corpus/$t" ]; then
    cp -n "$root/lib/fuzz/corpus/$t"/* "$out/$t/corpus/" 2>/dev/null || true
  fi
  echo "== $t: fuzzing for $secs s"
  # close_fd_mask=3: the parser's one-line refusals would flood the log;
  # libFuzzer still reports a crash on its own copy of stderr.
  if (cd "$out/$t" && "$bin" -max_total_time="$secs" -close_fd_mask=3 -max_len=4096 \
    -print_final_stats=1 corpus >"$out/$t.log" 2>&1); then
    grep -E '^stat::number_of_executed_units|^stat::peak_rss' "$out/$t.log" | sed "s/^/   /"
    echo "   no crash; corpus: $(ls "$out/$t/corpus" | wc -l) inputs"
  else
    echo "   CRASH: see $out/$t.log and $(ls "$out/$t"/crash-* "$out/$t"/leak-* 2>/dev/null | tr '\n' ' ')"
    tail -40 "$out/$t.log"
    status=1
  fi
done
exit "$status"
