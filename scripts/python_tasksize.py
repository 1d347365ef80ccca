#!/usr/bin/env python3
"""The CPython side of the tasksize experiment (bench/tasksize.c): the
tutorials' counting task (`for i in range(n): count += 1`, tutorial 003) at
each swept size, ntasks tasks per point, on CPython's own constructs:

  py_serial        the tasks one after another in the main thread
  py_thread        one threading.Thread per task, all started, then joined
  py_process       one multiprocessing.Process per task (fork), all started,
                   then joined; each sends its count back through a Pipe
  py_thread_pool   concurrent.futures.ThreadPoolExecutor(W), its W threads
                   started before the clock (a barrier task each), then
                   submit every task and collect the results
  py_process_pool  concurrent.futures.ProcessPoolExecutor(W), its W
                   processes started before the clock, then the same

Pinning: worker i (a thread, a process, a pool's i-th worker) binds itself
to the point's i-th PU (round robin), as the C executors do. Every task's
count is checked against its size. One row per point: wall_s, from the
first task started to the last result in hand. Spoken to by the shared
driver (lib/core/python.c) in the protocol of cb_py.py.
"""

import multiprocessing
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cb_py  # noqa: E402


def cpu_task(n):
    count = 0
    for i in range(n):
        count += 1
    return count


def _child(conn, n, pu):
    if pu is not None:
        os.sched_setaffinity(0, {pu})
    conn.send(cpu_task(n))
    conn.close()


def run_serial(pt, ntasks):
    pt.bind(0)
    t0 = time.perf_counter()
    got = [cpu_task(pt.tasks) for _ in range(ntasks)]
    return time.perf_counter() - t0, got


def run_threads(pt, ntasks):
    got = [None] * ntasks

    def body(i):
        pt.bind(i)
        got[i] = cpu_task(pt.tasks)

    t0 = time.perf_counter()
    ts = [threading.Thread(target=body, args=(i,)) for i in range(ntasks)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return time.perf_counter() - t0, got


def run_processes(pt, ntasks):
    ctx = multiprocessing.get_context("fork")
    t0 = time.perf_counter()
    procs = []
    for i in range(ntasks):
        r, w = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_child, args=(w, pt.tasks, pt.pu(i)))
        p.start()
        w.close()
        procs.append((p, r))
    got = []
    for p, r in procs:
        try:
            got.append(r.recv())
        except EOFError:
            got.append(None)
        p.join()
    dt = time.perf_counter() - t0
    for p, _ in procs:
        if p.exitcode != 0:
            raise cb_py.Failed("a task's process exited with %s" % p.exitcode)
    return dt, got


def run_pool(pt, ntasks):
    # Every worker started and bound before the clock (cb_py's pools).
    pool = cb_py.thread_pool if pt.executor == "py_thread_pool" else cb_py.process_pool
    with pool(pt) as ex:
        t0 = time.perf_counter()
        fs = [ex.submit(cpu_task, pt.tasks) for _ in range(ntasks)]
        got = [f.result() for f in fs]
        dt = time.perf_counter() - t0
    return dt, got


RUNS = {
    "py_serial": run_serial,
    "py_thread": run_threads,
    "py_process": run_processes,
    "py_thread_pool": run_pool,
    "py_process_pool": run_pool,
}


def measure(run, pt):
    fn = RUNS.get(pt.executor)
    if fn is None or pt.workload != "cpu":
        raise cb_py.Failed("no CPython run for %s on %s" % (pt.executor, pt.workload))
    ntasks = run.param("ntasks", int)
    dt, got = fn(pt, ntasks)
    bad = [i for i, g in enumerate(got) if g != pt.tasks]
    if bad:
        raise cb_py.Failed("task %d counted %r, expected %d" % (bad[0], got[bad[0]], pt.tasks))
    run.row(pt, "wall_s", dt, "s")


def metrics(pt):
    return [("wall_s", "s")]


if __name__ == "__main__":
    sys.exit(cb_py.run_main(measure, metrics))
