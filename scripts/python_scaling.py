#!/usr/bin/env python3
"""The CPython side of the scaling experiment (bench/scaling.c), E7 with the
tutorials' own pools, on the C rows' workloads, worker counts and pins:

  py_serial        the tasks one after another in the main thread (the py
                   rows' speedup reference)
  py_thread_pool   concurrent.futures.ThreadPoolExecutor(W)
  py_process_pool  concurrent.futures.ProcessPoolExecutor(W) (fork)

Each task has the nominal time --task-ms, as the C rows' tasks: cpu counts
(`for i in range(n): count += 1`, tutorial 003) for that long, n calibrated
here once per run (CPython counts some 50-100x slower than C, so the same
iterations would take minutes); io sleeps that long; mixed counts
(1 - io_fraction) of n, then sleeps io_fraction of the time. Every task's
result is checked (its count, its index). A pool is started, its workers
bound round robin to the point's PUs and warmed (every worker answered)
before the clock; wall_s runs from the first submit to the last result.

Rows: wall_s; cpu_iters (the calibrated count of one cpu task, the
calibration's record; 0 on io); for the pools default_workers, the pool's
size when constructed without max_workers in this interpreter
(ThreadPoolExecutor: min(32, os.cpu_count() + 4) since 3.8, 5 x cpu_count
before; ProcessPoolExecutor: os.cpu_count()). Spoken to by the shared
driver (lib/core/python.c) in the protocol of cb_py.py.
"""

import concurrent.futures
import multiprocessing
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cb_py  # noqa: E402


def count(n):
    c = 0
    for i in range(n):
        c += 1
    return c


def task(i, iters, sleep_s):
    """Counts iters, then sleeps: returns (index, count)."""
    c = count(iters)
    if sleep_s > 0:
        time.sleep(sleep_s)
    return i, c


_calibrated = {}


def calibrate(task_s):
    """Iterations of count() that take task_s here (best of 3 timings of a
    run of at least 20 ms, after a warm-up)."""
    if task_s in _calibrated:
        return _calibrated[task_s]
    n = 10000
    count(n)
    while True:
        t0 = time.perf_counter()
        count(n)
        dt = time.perf_counter() - t0
        if dt >= 0.02:
            break
        n *= 2 if dt <= 0 else max(2, int(0.025 / dt) + 1)
    best = dt
    for _ in range(2):
        t0 = time.perf_counter()
        count(n)
        best = min(best, time.perf_counter() - t0)
    iters = max(1, int(n * task_s / best))
    _calibrated[task_s] = iters
    return iters


def default_workers(executor):
    """The pool's size without max_workers, as this interpreter builds it."""
    if executor == "py_thread_pool":
        ex = concurrent.futures.ThreadPoolExecutor()
    else:
        ex = concurrent.futures.ProcessPoolExecutor(mp_context=multiprocessing.get_context("fork"))
    try:
        return ex._max_workers
    finally:
        ex.shutdown()


def measure(run, pt):
    if pt.executor not in ("py_serial", "py_thread_pool", "py_process_pool") or \
            pt.workload not in ("cpu", "io", "mixed"):
        raise cb_py.Failed("no CPython run for %s on %s" % (pt.executor, pt.workload))
    task_s = run.param("task_ms") / 1e3
    f = run.param("io_fraction", float, 0.5)
    iters = calibrate(task_s)
    if pt.workload == "cpu":
        n, sleep_s = iters, 0.0
    elif pt.workload == "io":
        n, sleep_s = 0, task_s
    else:
        n, sleep_s = iters - int(f * iters), f * task_s
    ntasks = pt.tasks
    if pt.executor == "py_serial":
        pt.bind(0)
        t0 = time.perf_counter()
        got = [task(i, n, sleep_s) for i in range(ntasks)]
        dt = time.perf_counter() - t0
    else:
        ex = (cb_py.thread_pool(pt) if pt.executor == "py_thread_pool"
              else cb_py.process_pool(pt))
        try:
            t0 = time.perf_counter()
            fs = [ex.submit(task, i, n, sleep_s) for i in range(ntasks)]
            got = [fu.result() for fu in fs]
            dt = time.perf_counter() - t0
        finally:
            ex.shutdown()
    for i, g in enumerate(got):
        if g != (i, n):
            raise cb_py.Failed("task %d returned %r, expected (%d, %d)" % (i, g, i, n))
    run.row(pt, "wall_s", dt, "s")
    run.row(pt, "cpu_iters", float(n), "count",
            detail="calibrated: %d iterations of count() take %g ms here" % (iters, task_s * 1e3))
    if pt.executor != "py_serial":
        run.row(pt, "default_workers", float(default_workers(pt.executor)), "count",
                detail="os.cpu_count() = %s, Python %d.%d" % (
                    os.cpu_count(), sys.version_info[0], sys.version_info[1]))


def metrics(pt):
    m = [("wall_s", "s"), ("cpu_iters", "count")]
    if pt.executor != "py_serial":
        m.append(("default_workers", "count"))
    return m


if __name__ == "__main__":
    sys.exit(cb_py.run_main(measure, metrics))
