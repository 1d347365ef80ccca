#!/usr/bin/env bash
# --export against the real binary: a real quick run written as json, bmf,
# gbench, md, gab-smaller and gab-bigger; each JSON parses with python3's json, its values match the
# summary CSV's medians; the gbench file is read back by a reader written to
# Google Benchmark's documented JSON schema; a bad --export (unknown format,
# unwritable folder, the same file twice) is refused before anything runs,
# exit 2, one line.
set -uo pipefail
bin="$1"
gbcompare="$2" # Google Benchmark's tools/compare.py
T="$TEST_TMPDIR"
fail=0
say_fail() { echo "FAIL: $*"; fail=1; }
PY=$(command -v python3) || { echo "FAIL: python3 needed to read the exports back"; exit 1; }
d="$T/run"; mkdir -p "$d"
"$bin" --quick --reps 3 --warmup 0 --no-python --no-plot --executors serial,thread,process,process_pool \
  --workloads cpu,io --cpu-iters 200000 --io-ms 5 --out "$d" \
  --export json="$d/run.json" --export bmf="$d/bmf.json" --export gbench="$d/gb.json" \
  --export md="$d/run.md" --export gab-smaller="$d/gab_s.json" --export gab-bigger="$d/gab_b.json" \
  >"$T/out" 2>"$T/err" || { say_fail "exit $?: $(tail -3 "$T/err")"; }
"$PY" - "$d" <<'PYEOF' || fail=1
import csv, json, math, sys
d = sys.argv[1]
bad = []
summary = {}
with open(d + "/cpu_vs_io.summary.csv", newline="") as f:
    for row in csv.DictReader(f):
        key = (row["executor"], row["workload"], int(row["workers"]), int(row["tasks"]),
               row["pin"], row["metric"])
        summary[key] = row
def close(a, b):
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))
# json: meta, every raw sample, the summary rows with the same medians.
run = json.load(open(d + "/run.json"))
with open(d + "/cpu_vs_io.csv", newline="") as f:
    raw = list(csv.DictReader(f))
if run["schema"] != "concbench-run/1": bad.append("schema " + run["schema"])
if run["meta"].get("experiment") != "cpu_vs_io": bad.append("meta experiment")
if len(run["samples"]) < len(raw): bad.append("samples %d < raw rows %d" % (len(run["samples"]), len(raw)))
for s in run["samples"]:
    if s["value"] is not None and not math.isfinite(s["value"]): bad.append("non-finite sample")
n = 0
for row in run["summary"]:
    key = (row["executor"], row["workload"], row["workers"], row["tasks"], row["pin"], row["metric"])
    if key not in summary: continue
    n += 1
    want = summary[key]["median"]
    got = row["median"]
    if want == "" and got is not None: bad.append("json %s: median %s, summary empty" % (key, got))
    if want != "" and (got is None or not close(got, float(want))): bad.append("json %s: %s vs %s" % (key, got, want))
if n < len(summary): bad.append("json has %d of %d summary rows" % (n, len(summary)))
# bmf: experiment/executor/workload/wW/tT/pin -> metric -> value/lower/upper.
bmf = json.load(open(d + "/bmf.json"))
m = 0
for key, row in summary.items():
    if row["median"] == "": continue
    name = "cpu_vs_io/%s/%s/w%d/t%d/%s" % key[:5]
    v = bmf.get(name, {}).get(key[5])
    if v is None: bad.append("bmf lacks %s %s" % (name, key[5])); continue
    m += 1
    if not close(v["value"], float(row["median"])): bad.append("bmf %s: %s" % (name, v))
    if not (v["lower_value"] <= v["value"] <= v["upper_value"]): bad.append("bmf bounds %s" % v)
# gbench: read to Google Benchmark's schema (context; benchmarks with
# name, run_name, run_type, repetitions, real_time, cpu_time, time_unit;
# aggregates with aggregate_name).
gb = json.load(open(d + "/gb.json"))
for k in ("date", "host_name", "executable", "num_cpus", "mhz_per_cpu", "cpu_scaling_enabled",
          "caches", "load_avg", "library_build_type"):
    if k not in gb["context"]: bad.append("gbench context lacks " + k)
med = {}
for b in gb["benchmarks"]:
    for k in ("name", "run_name", "run_type", "repetitions", "threads", "iterations", "real_time",
              "cpu_time", "time_unit"):
        if k not in b: bad.append("gbench entry lacks %s: %s" % (k, b.get("name")))
    if b.get("time_unit") not in ("ns", "us", "ms", "s"): bad.append("time_unit " + str(b.get("time_unit")))
    if b["run_type"] == "aggregate":
        if b.get("aggregate_name") not in ("mean", "median", "stddev", "cv"): bad.append("aggregate " + str(b))
        if b["aggregate_name"] == "median": med[b["run_name"]] = b["real_time"]
    elif b["run_type"] != "iteration": bad.append("run_type " + b["run_type"])
key = ("serial", "cpu", 1, 4, "compact", "wall_s")
gname = "cpu_vs_io/serial/cpu/w1/t4/compact/wall_s"
# (times in microseconds: Google Benchmark's tools print them without decimals)
if key in summary and (gname not in med or not close(med[gname], 1e6 * float(summary[key]["median"]))):
    bad.append("gbench median of %s: %s vs %s" % (gname, med.get(gname), summary[key]["median"]))
iters = [b for b in gb["benchmarks"] if b["run_name"] == gname and b["run_type"] == "iteration"]
if len(iters) != 3: bad.append("gbench: %d iterations of %s, want 3" % (len(iters), gname))
# gbench's cpu_time of a wall_s iteration is the task-clock the kernel
# counted over that measurement (or user + sys without counters).
tc = {(r["rep"], r["executor"], r["workload"]): float(r["value"]) for r in raw
      if r["metric"] == "task_clock_s" and r["status"] == "ok"}
for k, b in enumerate(iters):
    want = tc.get((str(b["repetition_index"]), "serial", "cpu"))
    if want is None or not close(b["cpu_time"], 1e6 * want): bad.append("gbench cpu_time %s vs task_clock %s" % (b["cpu_time"], want))
# json's facts: the verdict's figures, each with a name, value, unit,
# reference (the tutorials', or null) and text; E1's claim is among them
# and its value is thread's time over process's.
facts = {f["name"]: f for f in run.get("facts", [])}
for f in facts.values():
    for k in ("name", "value", "unit", "reference", "text"):
        if k not in f: bad.append("fact lacks %s: %s" % (k, f))
f = facts.get("cpu/thread_over_process")
if f is None: bad.append("no fact cpu/thread_over_process: %s" % sorted(facts))
elif not (abs(f["reference"] - 30.26 / 17.11) < 1e-9 and f["unit"] == "x" and "tutorials" in f["text"]):
    bad.append("fact cpu/thread_over_process: %s" % f)
# md: a header, a rule, one row per summary row.
md = open(d + "/run.md").read().splitlines()
if not md[0].startswith("| executor |") or not md[1].startswith("|---"): bad.append("md header")
if len(md) - 2 != len(summary): bad.append("md rows %d, summary %d" % (len(md) - 2, len(summary)))
# gab-smaller / gab-bigger: github-action-benchmark's custom arrays, split
# by direction: times in the first, speedups and rates in the second.
gs, gb2 = json.load(open(d + "/gab_s.json")), json.load(open(d + "/gab_b.json"))
names = {}
for label, arr in (("smaller", gs), ("bigger", gb2)):
    if not isinstance(arr, list) or not arr: bad.append("gab-%s empty or not a list" % label); continue
    for e in arr:
        for k in ("name", "unit", "value", "range", "extra"):
            if k not in e: bad.append("gab-%s entry lacks %s" % (label, k))
        if e["name"] in names: bad.append("%s in both gab files" % e["name"])
        names[e["name"]] = (label, e["value"])
for key, row in summary.items():
    name = "cpu_vs_io/%s/%s/w%d/t%d/%s/%s" % key
    want = {"wall_s": "smaller", "speedup": "bigger", "efficiency": "bigger"}.get(key[5])
    if want and row["median"] != "":
        got = names.get(name)
        if not got or got[0] != want or not close(got[1], float(row["median"])):
            bad.append("gab %s: %s, want %s %s" % (name, got, want, row["median"]))
for b in bad[:10]: print("FAIL:", b)
print("exports: json %d summary rows, bmf %d measures, gbench %d entries, md %d rows" % (n, m, len(gb["benchmarks"]), len(md) - 2))
sys.exit(1 if bad else 0)
PYEOF
# The gbench export is read by Google Benchmark's own compare.py (with
# Debian's python3, numpy and scipy): the file against itself is every
# benchmark at +0.0000, our serial wall time among them.
if out=$(/usr/bin/python3 "$gbcompare" --no-color benchmarks "$d/gb.json" "$d/gb.json" 2>&1); then
  printf '%s\n' "$out" | grep -q '^cpu_vs_io/serial/cpu/w1/t4/compact/wall_s  *+0.0000  *+0.0000' \
    || say_fail "compare.py: no unchanged serial wall_s row: $(printf '%s\n' "$out" | head -5)"
  changed=$(printf '%s\n' "$out" | awk '$1 ~ /^cpu_vs_io\// && $1 !~ /_(pvalue|cv|stddev)$/ && ($2 != "+0.0000" || $3 != "+0.0000")' | head -3)
  [ -z "$changed" ] || say_fail "compare.py: a file against itself changed: $changed"
else
  say_fail "compare.py could not read the gbench export: $(printf '%s\n' "$out" | tail -3)"
fi
# Refused before anything runs: exit 2, one line naming it, nothing written.
refused() { # want, args...
  local want="$1"; shift
  local o="$T/refused"; rm -rf "$o"; mkdir -p "$o"
  err=$("$bin" --quick --no-plot --out "$o" "$@" 2>&1 >/dev/null); rc=$?
  [ "$rc" -eq 2 ] || say_fail "$*: exit $rc, want 2 ($err)"
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || say_fail "$*: not one line: $err"
  case "$err" in *"$want"*) ;; *) say_fail "$*: message lacks '$want': $err" ;; esac
  [ -z "$(ls -A "$o")" ] || say_fail "$*: wrote $(ls -A "$o")"
}
refused "expected FORMAT=FILE with FORMAT json, bmf, gbench, md, gab-smaller or gab-bigger" --export xml="$T/x.xml"
refused "'json'" --export json
refused "does not exist" --export json="$T/nosuch/run.json"
: >"$T/plain"
refused "is not a folder" --export md="$T/plain/run.md"
refused "already the file of the json export" --export json="$T/a.json" --export bmf="$T/a.json"
exit "$fail"
