#!/usr/bin/env bash
# Drives the compare binary end to end on hand-made raw CSVs: exit 0 on
# identical runs, 4 on a slowdown (with the table and the Markdown report),
# 2 with one line naming the problem on bad flags and bad input.
set -uo pipefail
fail=0
bin="$1"
d="$TEST_TMPDIR"

# raw_csv FILE SCALE: serial and thread wall_s over five repetitions, the
# thread's scaled by SCALE.
raw_csv() {
  {
    echo "experiment,executor,workload,workers,tasks,pin,rep,metric,value,unit,status,detail"
    for rep in 0 1 2 3 4; do
      echo "e1,serial,cpu,1,10,compact,$rep,wall_s,1.0$rep,s,ok,"
      echo "e1,thread,cpu,2,10,compact,$rep,wall_s,$(awk "BEGIN{print 1.0$rep * $2}"),s,ok,"
    done
  } >"$1"
}
raw_csv "$d/base.csv" 1
raw_csv "$d/same.csv" 1
raw_csv "$d/slow.csv" 1.5

expect() { # want-status description command...
  local want="$1" what="$2"; shift 2
  "$@" >"$d/out" 2>"$d/err"; local rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL: $what: exit $rc, want $want"; cat "$d/out" "$d/err"; fail=1
  fi
}
has() { # file text description
  grep -qF -- "$2" "$1" || { echo "FAIL: $3: '$2' not in $1:"; cat "$1"; fail=1; }
}

expect 0 "identical runs" "$bin" "$d/base.csv" "$d/same.csv"
has "$d/out" "0 slower" "identical runs"

expect 4 "1.5x slower" "$bin" "$d/base.csv" "$d/slow.csv" --report "$d/r.md"
has "$d/out" "1.50x slower" "slower table"
has "$d/r.md" "| slower | e1 | thread | cpu | 2 | 10 | compact | wall_s |" "report row"
has "$d/r.md" "REGRESSION (exit 4)" "report result"
[ -s "$d/err" ] && { echo "FAIL: stderr on a regression:"; cat "$d/err"; fail=1; }
# A larger threshold lets it pass; flags may come before the files too.
expect 0 "threshold 0.6" "$bin" --threshold 0.6 "$d/base.csv" "$d/slow.csv"

refused() { # text-to-find args...
  local want="$1"; shift
  expect 2 "$*" "$bin" "$@"
  [ "$(wc -l <"$d/err")" -eq 1 ] || { echo "FAIL: $*: not one line:"; cat "$d/err"; fail=1; }
  has "$d/err" "$want" "$*"
}
refused "'abc'" "$d/base.csv" "$d/slow.csv" --threshold abc
refused "'0'" "$d/base.csv" "$d/slow.csv" --alpha 0
refused "--frobnicate" "$d/base.csv" "$d/slow.csv" --frobnicate
refused "got 1" "$d/base.csv"
refused "$d/nope.csv: No such file or directory" "$d/base.csv" "$d/nope.csv"
sed 's/,1.02,s,ok,/,,s,ok,/' "$d/base.csv" >"$d/empty.csv"
refused "empty.csv:6:" "$d/base.csv" "$d/empty.csv" --report "$d/bad.md"
sed 's/,metric,/,measure,/' "$d/base.csv" >"$d/nocol.csv"
refused "missing column 'metric'" "$d/nocol.csv" "$d/base.csv"
# Bad input leaves no report and no temp file behind.
if [ -n "$(ls "$d" | grep bad.md)" ]; then echo "FAIL: bad input left $(ls "$d" | grep bad.md)"; fail=1; fi
refused "r2.md" "$d/base.csv" "$d/slow.csv" --report "$d/no/dir/r2.md"

expect 0 "--help" "$bin" --help
has "$d/out" "2/252" "--help"

exit $fail
