#!/usr/bin/env python3
"""The CPython side of the sleeps experiment (bench/sleeps.c), E2 as the
tutorial wrote it (003): each of ntasks tasks sleeps time.sleep(draw * unit)
with draw in 1..3, on

  py_thread   one threading.Thread per task, all started, then joined
  py_process  one multiprocessing.Process per task (fork), all started, then
              joined

Workloads: seeded, the same draws as the C rows (SplitMix64 of seed 1 and
the task index, mod 3, plus 1: lib/wl/wl_io.c's function); independent,
random.randint(1, 3) per task, fresh in every run, as the tutorial. Rows:
wall_s (from the first start to the last join) and longest_draw (units).
Every task reports the draw it slept (threads into a list, processes
through their exit status) and the longest is checked against the draws.
Pinning: task i binds itself to the point's i-th PU. Spoken to by the
shared driver (lib/core/python.c) in the protocol of cb_py.py.
"""

import multiprocessing
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cb_py  # noqa: E402

MASK64 = (1 << 64) - 1


def splitmix64(seed, i):
    z = (seed + (i + 1) * 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def _sleeper(pu, d, unit_s):
    if pu is not None:
        os.sched_setaffinity(0, {pu})
    time.sleep(d * unit_s)
    os._exit(d)


def measure(run, pt):
    unit_s = run.param("unit_ms", float) / 1e3
    n = run.param("ntasks", int)
    if pt.workload == "seeded":
        ds = [1 + splitmix64(1, i) % 3 for i in range(n)]
    elif pt.workload == "independent":
        ds = [random.randint(1, 3) for _ in range(n)]
    else:
        raise cb_py.Failed("no CPython run for workload %s" % pt.workload)
    if pt.executor == "py_thread":
        got = [None] * n

        def body(i):
            pt.bind(i)
            time.sleep(ds[i] * unit_s)
            got[i] = ds[i]

        t0 = time.perf_counter()
        ts = [threading.Thread(target=body, args=(i,)) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        wall = time.perf_counter() - t0
    elif pt.executor == "py_process":
        ctx = multiprocessing.get_context("fork")
        t0 = time.perf_counter()
        ps = [ctx.Process(target=_sleeper, args=(pt.pu(i), ds[i], unit_s)) for i in range(n)]
        for p in ps:
            p.start()
        for p in ps:
            p.join()
        wall = time.perf_counter() - t0
        got = [p.exitcode for p in ps]
    else:
        raise cb_py.Failed("no CPython run for executor %s" % pt.executor)
    if got != ds:
        raise cb_py.Failed("the tasks reported draws %r, expected %r" % (got, ds))
    run.row(pt, "wall_s", wall, "s")
    run.row(pt, "longest_draw", float(max(ds)), "units")


def metrics(pt):
    return [("wall_s", "s"), ("longest_draw", "units")]


if __name__ == "__main__":
    sys.exit(cb_py.run_main(measure, metrics))
