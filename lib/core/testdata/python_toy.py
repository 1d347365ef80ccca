#!/usr/bin/env python3
"""The CPython side of python_test's toy experiment: what the shared driver
(lib/core/python.c) must handle. TOY_MODE (environment) picks a behaviour:
ok (rows), crash (SIGSEGV), hang, no_metric (a declared metric missing),
bad_csv, stray (a row of a point it was not given), and for the
calibration (--calibrate: toy_scale = n * toy_base, logged to
$TOY_CALIB_LOG): calib_fail (it raises), calib_bad (it prints a line that
is not KEY=VALUE)."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "scripts"))
import cb_py  # noqa: E402

MODE = os.environ.get("TOY_MODE", "ok")


def measure(run, pt):
    if pt.workload == "w2":
        try:
            import cb_no_such_module  # noqa: F401
        except ImportError as e:
            raise cb_py.Skip(str(e))
    n = run.param("n", int)
    if "toy_scale" in run.params:  # the calibration's figure
        n = run.param("toy_scale", int)
    run.row(pt, "value", float(n), "count")
    if MODE != "no_metric":
        run.row(pt, "twice", float(len(pt.pus)), "count")
    if MODE == "stray":
        run.rows.append(["toy", "py_nobody", pt.workload, pt.workers, pt.tasks, pt.pin, 0,
                         "value", "1", "count", "ok", ""])


def metrics(pt):
    return [("value", "count"), ("twice", "count")]


def calibrate(run, points):
    log = os.environ.get("TOY_CALIB_LOG")
    if log:
        with open(log, "a") as f:
            f.write("calibrated %d points, toy_base=%s\n" % (len(points), run.params.get("toy_base")))
    if MODE == "calib_fail":
        raise cb_py.Failed("no clock here")
    if MODE == "calib_bad":
        print("garbage line")
        return {}
    return {"toy_scale": run.param("n", int) * run.param("toy_base", int)}


if __name__ == "__main__":
    if MODE == "crash" and "--probe" not in sys.argv:
        os.kill(os.getpid(), signal.SIGSEGV)
    if MODE == "hang" and "--probe" not in sys.argv:
        time.sleep(600)
    if MODE == "bad_csv" and "--probe" not in sys.argv:
        out = sys.argv[sys.argv.index("--out") + 1]
        with open(out, "w") as f:
            f.write("not,a,results,file\n")
        sys.exit(0)
    sys.exit(cb_py.run_main(measure, metrics, optional=("cb_no_such_module",),
                            calibrate=calibrate))
