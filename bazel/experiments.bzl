"""The experiments: one row each, read by bench/BUILD (the binaries),
plots/BUILD (the render tests) and the CI gate's scripts (through the
//bench:gated_experiments list).

A row:
  name:  the binary bench/NAME.c, its plot plots/NAME.gp, its files NAME.*
  data:  what the binary needs at run time besides its plot
  plot:  the PNG size (width, height) its script draws from the fixture
         plots/testdata/NAME.summary.csv
  gate:  the flags of its quick run in the CI gate, or None when CI does not
         gate on it
  gate_metrics: the ratios measured inside one run that the gate compares
"""

load("@rules_cc//cc:defs.bzl", "cc_binary")
load("@rules_shell//shell:sh_test.bzl", "sh_test")
load("//bazel:copts.bzl", "CB_COPTS")

CB_EXPERIMENTS = [
    {
        "name": "cpu_vs_io",
        "data": [
            "//scripts:cb_py.py",
            "//scripts:python_reference.py",
        ],
        "plot": ("1600", "1100"),
        "gate": "--quick --no-python --reps 10",
        "gate_metrics": "speedup,efficiency",
    },
    {
        "name": "spawn",
        "data": [
            ":tiny",
            "//plots:bars_log.gp",
            "//scripts:cb_py.py",
            "//scripts:python_spawn.py",
        ],
        "plot": ("1400", "800"),
        "gate": "--quick --pinned-only --no-python --reps 10",
        "gate_metrics": "relative",
    },
    {
        "name": "switch",
        "data": [
            "//plots:bars_log.gp",
            "//scripts:cb_py.py",
            "//scripts:python_switch.py",
        ],
        "plot": ("1300", "800"),
        "gate": "--quick --no-python --reps 10",
        "gate_metrics": "relative",
    },
    {
        "name": "sync",
        "data": [
            "//scripts:cb_py.py",
            "//scripts:python_sync.py",
        ],
        "plot": ("1500", "1000"),
        "gate": None,
    },
    {
        "name": "echo",
        "data": [
            "//scripts:cb_py.py",
            "//scripts:python_echo.py",
        ],
        "plot": ("1400", "650"),
        "gate": None,
    },
    {
        "name": "pool_callbacks",
        "data": [
            "//scripts:cb_py.py",
            "//scripts:python_pool_callbacks.py",
        ],
        "plot": ("1400", "650"),
        "gate": None,
    },
    {
        "name": "scaling",
        "data": [
            "//scripts:cb_py.py",
            "//scripts:python_scaling.py",
        ],
        "plot": ("1950", "700"),
        "gate": None,
    },
    {
        "name": "tasksize",
        "data": [
            "//scripts:cb_py.py",
            "//scripts:python_tasksize.py",
        ],
        "plot": ("1500", "900"),
        "gate": None,
    },
    {
        "name": "sleeps",
        "data": [
            "//scripts:cb_py.py",
            "//scripts:python_sleeps.py",
        ],
        "plot": ("1400", "800"),
        "gate": None,
    },
    {
        "name": "collect",
        "data": [
            "//scripts:cb_py.py",
            "//scripts:python_collect.py",
        ],
        "plot": ("1200", "700"),
        "gate": None,
    },
    {"name": "hybrid", "data": ["//scripts:cb_py.py", "//scripts:python_hybrid.py"], "plot": ("1300", "700"), "gate": None},
    {
        "name": "ipc",
        "data": [
            "//scripts:cb_py.py",
            "//scripts:python_ipc.py",
        ],
        "plot": ("1600", "1000"),
        "gate": None,
    },
]

def cb_experiment_binaries(name):
    """One cc_binary per experiment, and the list the CI scripts read.

    Args:
      name: the list's target; it writes NAME.txt, one line
        "NAME METRICS FLAGS..." per gated experiment, for
        scripts/quick_runs.sh, ci_gate.sh and update_baseline.sh.
    """
    for e in CB_EXPERIMENTS:
        cc_binary(
            name = e["name"],
            srcs = [e["name"] + ".c"],
            copts = CB_COPTS,
            data = ["//plots:%s.gp" % e["name"]] + e["data"],
            deps = [
                "//lib/core",
                "//lib/exec",
                "//lib/exp",
                "//lib/wl",
            ],
        )

    lines = ["%s %s %s" % (e["name"], e["gate_metrics"], e["gate"]) for e in CB_EXPERIMENTS if e["gate"]]
    native.genrule(
        name = name,
        outs = [name + ".txt"],
        cmd = "printf '%s\\n' " + " ".join(["'%s'" % line for line in lines]) + " > $@",
    )

def cb_plot_render_tests(name):
    """A render test per experiment's plot, from its fixture.

    Args:
      name: a test_suite of them all (each is EXPERIMENT_render_test).
    """
    tests = []
    for e in CB_EXPERIMENTS:
        exp = e["name"]
        tests.append(exp + "_render_test")
        sh_test(
            name = exp + "_render_test",
            size = "small",
            srcs = ["render_test.sh"],
            args = [
                "$(rootpath :%s.gp)" % exp,
                "$(rootpath testdata/%s.summary.csv)" % exp,
                e["plot"][0],
                e["plot"][1],
            ],
            data = [
                "bars_log.gp",
                "testdata/%s.summary.csv" % exp,
                ":%s.gp" % exp,
            ] + native.glob(["testdata/%s.meta" % exp]),
        )
    native.test_suite(
        name = name,
        tests = tests,
    )
