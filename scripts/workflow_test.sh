#!/usr/bin/env bash
# The GitHub workflow (.github/workflows/bench.yml), parsed as YAML, runs
# what README.md and .ci/run say CI runs: the README's test command (taken
# from its code block, the line that runs `bazel test`) exactly as written
# there and in .ci/run, then the scripts .ci/run runs after it, in its order
# (all but the fuzzers, which stay in .ci/run; the gate with a folder it
# keeps); it uploads results/ and the
# gate's compare report, and feeds the gate's gab-smaller / gab-bigger
# arrays to github-action-benchmark as customSmallerIsBetter /
# customBiggerIsBetter. The file names the workflow reads are the ones
# scripts/ci_gate.sh writes.
#   workflow_test.sh README CI_RUN WORKFLOW CI_GATE
set -uo pipefail
python3 -c 'import yaml' 2>/dev/null || {
  echo "FAIL: python3 with its yaml module (Debian's python3-yaml) is needed: run scripts/setup.sh"
  exit 1
}
exec python3 - "$@" <<'PY'
import re
import shlex
import sys

import yaml

readme_path, ci_run_path, workflow_path, gate_path = sys.argv[1:5]
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
    return ok


# The README's test command: in its first sh block, the one command line
# that runs `bazel test` (comments and blank lines aside).
readme = open(readme_path).read()
blocks = re.findall(r"^```sh\n(.*?)^```", readme, re.S | re.M)
lines = [l.strip() for l in blocks[0].splitlines()] if blocks else []
tests = [l for l in lines if l and not l.startswith("#") and re.search(r"\bbazel test\b", l)]
if not check(len(tests) == 1, "README.md's first sh block has %d `bazel test` lines, want 1: %r" % (len(tests), tests)):
    print("\n".join("FAIL: " + f for f in failures))
    sys.exit(1)
test_cmd = tests[0]
check(test_cmd.startswith("scripts/setup.sh && "), "the README's test command does not start with set-up: %r" % test_cmd)

# .ci/run runs the same command, then its scripts (a line each).
ci_run = open(ci_run_path).read()
m = re.search(r"^cmd='([^']*)'$", ci_run, re.M)
check(m is not None and m.group(1) == test_cmd, ".ci/run's cmd=%r is not the README's %r" % (m and m.group(1), test_cmd))
LEFT_TO_CI_RUN = {"scripts/fuzz.sh"}  # clang, and 3 minutes of fuzzing
ci_scripts = [l.split()[0] for l in ci_run.splitlines() if re.match(r"scripts/\S+", l)]
check("scripts/buildifier.sh" in ci_scripts and "scripts/ci_gate.sh" in ci_scripts,
      ".ci/run does not run scripts/buildifier.sh and scripts/ci_gate.sh: %r" % ci_scripts)
want_scripts = [c for c in ci_scripts if c not in LEFT_TO_CI_RUN]

# The workflow.
wf = yaml.safe_load(open(workflow_path))
# YAML 1.1 reads the key `on` as true.
triggers = wf.get("on", wf.get(True)) or {}
for event in ("push", "pull_request"):
    check(event in triggers, "the workflow does not run on %s" % event)
jobs = wf.get("jobs") or {}
check(len(jobs) == 1, "the workflow has %d jobs, want 1" % len(jobs))
job = next(iter(jobs.values())) if jobs else {}
container = job.get("container")
image = container.get("image") if isinstance(container, dict) else container
check(image == "debian:12", "the job runs in %r, not debian:12 (the README's machine)" % image)
steps = job.get("steps") or []
runs = [(i, s["run"].strip()) for i, s in enumerate(steps) if "run" in s]
uses = [(i, s["uses"], s.get("with") or {}) for i, s in enumerate(steps) if "uses" in s]

checkout = [i for i, u, _ in uses if u.startswith("actions/checkout@")]
at = {}
found = [i for i, r in runs if r == test_cmd]
if check(len(found) == 1, "the workflow runs %r %d times, want once exactly as written (steps: %r)" % (test_cmd, len(found), [r for _, r in runs])):
    at["test"] = found[0]
# After the tests, the workflow's script steps are .ci/run's, in its order.
script_steps = [(i, r) for i, r in runs if r.startswith("scripts/") and r != test_cmd]
check([r.split()[0] for _, r in script_steps] == want_scripts,
      "the workflow's script steps %r are not .ci/run's %r (in order, less %s)"
      % ([r for _, r in script_steps], want_scripts, sorted(LEFT_TO_CI_RUN)))
check(all("\n" not in r for _, r in script_steps), "a script step runs more than its one script")
if script_steps and "test" in at:
    check(at["test"] < script_steps[0][0], "the workflow runs a script before the tests")
gates = [(i, r) for i, r in runs if r.startswith("scripts/ci_gate.sh")]
gate_dir = None
if check(len(gates) == 1 and "\n" not in gates[0][1] and len(shlex.split(gates[0][1])) == 2,
         "the workflow runs the gate once, as `scripts/ci_gate.sh DIR` alone in its step: %r" % gates):
    at["gate"], gate_dir = gates[0][0], shlex.split(gates[0][1])[1].rstrip("/")
    check(gate_dir.startswith("results/"), "the gate keeps its runs in %r, outside results/ (which is uploaded)" % gate_dir)
if check(len(checkout) == 1, "the workflow checks out %d times, want 1" % len(checkout)) and "test" in at:
    check(checkout[0] < at["test"], "the workflow runs the tests before the checkout")

if gate_dir:
    gate = open(gate_path).read()
    uploads = [(i, w) for i, u, w in uses if u.startswith("actions/upload-artifact@")]
    paths = [str(w.get("path", "")).strip() for _, w in uploads]
    check("results/" in paths or "results" in paths, "results/ is not uploaded (uploads: %r)" % paths)
    report = gate_dir + "/report.md"
    check(report in paths, "the compare report %s is not uploaded (uploads: %r)" % (report, paths))
    check("report.md" in gate, "scripts/ci_gate.sh does not write report.md")
    for i, w in uploads:
        check(i > at.get("gate", len(steps)) and "always()" in str(steps[i].get("if", "")),
              "upload step %d does not come after the gate with if: always()" % i)
    bench = [(i, w) for i, u, w in uses if u.startswith("benchmark-action/github-action-benchmark@")]
    tools = {}
    for i, w in bench:
        tools[w.get("tool")] = str(w.get("output-file-path", ""))
    for tool, gab in (("customSmallerIsBetter", "gab-smaller"), ("customBiggerIsBetter", "gab-bigger")):
        want = "%s/%s.json" % (gate_dir, gab)
        check(tools.get(tool) == want, "github-action-benchmark %s reads %r, want %r" % (tool, tools.get(tool), want))
        check("%s.json" % gab in gate, "scripts/ci_gate.sh does not write %s.json" % gab)
    check(len(bench) == 2, "github-action-benchmark runs %d times, want 2 (one per direction)" % len(bench))
    for i, w in bench:
        check(str(w.get("fail-on-alert", "false")).lower() == "false",
              "github-action-benchmark step %d fails on alerts: the gate decides, on ratios" % i)

if failures:
    print("\n".join("FAIL: " + f for f in failures))
    sys.exit(1)
print("workflow: runs %r, then %s (.ci/run's order); uploads and feeds what scripts/ci_gate.sh %s writes"
      % (test_cmd, ", ".join(want_scripts), gate_dir))
PY
