#!/usr/bin/env python3
"""The CPython side of the collect experiment (bench/collect.c): tutorial
004's shape, `func(n)` sleeping and returning n * n, on

  py_thread_pool   concurrent.futures.ThreadPoolExecutor(W)
  py_process_pool  concurrent.futures.ProcessPoolExecutor(W) (fork)

each started before the clock (every worker answered once), then

  submit_all   fs = [pool.submit(func, i) for i in range(T)]; [f.result() for f in fs]
  submit_wait  for i in range(T): pool.submit(func, i).result()

Every result is checked (n * n). Worker i binds itself to the point's i-th
PU. One row per point: wall_s. Spoken to by the shared driver
(lib/core/python.c) in the protocol of cb_py.py.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cb_py  # noqa: E402

_sleep_s = 0.0


def func(n):
    time.sleep(_sleep_s)
    return n * n


def measure(run, pt):
    global _sleep_s
    _sleep_s = run.param("sleep_ms", float) / 1e3
    n = pt.tasks
    # _sleep_s is set before the pool forks: its workers inherit it.
    if pt.executor == "py_thread_pool":
        ex = cb_py.thread_pool(pt)
    elif pt.executor == "py_process_pool":
        ex = cb_py.process_pool(pt)
    else:
        raise cb_py.Failed("no CPython run for executor %s" % pt.executor)
    try:
        t0 = time.perf_counter()
        if pt.workload == "submit_all":
            fs = [ex.submit(func, i) for i in range(n)]
            got = [f.result() for f in fs]
        elif pt.workload == "submit_wait":
            got = [ex.submit(func, i).result() for i in range(n)]
        else:
            raise cb_py.Failed("no CPython run for workload %s" % pt.workload)
        dt = time.perf_counter() - t0
    finally:
        ex.shutdown()
    bad = [i for i in range(n) if got[i] != i * i]
    if bad:
        raise cb_py.Failed("task %d returned %r, expected %d" % (bad[0], got[bad[0]], bad[0] ** 2))
    run.row(pt, "wall_s", dt, "s")


def metrics(pt):
    return [("wall_s", "s")]


if __name__ == "__main__":
    sys.exit(cb_py.run_main(measure, metrics))
