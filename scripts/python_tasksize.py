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

import concurrent.futures
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


_slot = None  # a process pool worker's PU index, from the shared counter


def _bind_from_counter(counter, pus):
    global _slot
    with counter.get_lock():
        _slot = counter.value
        counter.value += 1
    if pus:
        os.sched_setaffinity(0, {pus[_slot % len(pus)]})


def _pid(_):
    time.sleep(0.01)
    return os.getpid()


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


def run_thread_pool(pt, ntasks):
    w = pt.workers
    lock = threading.Lock()
    slots = []

    def init():
        with lock:
            i = len(slots)
            slots.append(i)
        pt.bind(i)

    with concurrent.futures.ThreadPoolExecutor(w, initializer=init) as ex:
        bar = threading.Barrier(w)
        # Every worker started and bound before the clock.
        for f in [ex.submit(bar.wait) for _ in range(w)]:
            f.result(timeout=60)
        t0 = time.perf_counter()
        fs = [ex.submit(cpu_task, pt.tasks) for _ in range(ntasks)]
        got = [f.result() for f in fs]
        dt = time.perf_counter() - t0
    return dt, got


def run_process_pool(pt, ntasks):
    w = pt.workers
    ctx = multiprocessing.get_context("fork")
    counter = ctx.Value("i", 0)
    with concurrent.futures.ProcessPoolExecutor(
            w, mp_context=ctx, initializer=_bind_from_counter,
            initargs=(counter, pt.pus)) as ex:
        # Every worker started (W distinct pids answered) before the clock.
        pids, tries = set(), 0
        while len(pids) < w and tries < 50:
            pids.update(ex.map(_pid, range(2 * w)))
            tries += 1
        if len(pids) < w:
            raise cb_py.Failed("the process pool started %d of %d workers" % (len(pids), w))
        t0 = time.perf_counter()
        fs = [ex.submit(cpu_task, pt.tasks) for _ in range(ntasks)]
        got = [f.result() for f in fs]
        dt = time.perf_counter() - t0
    return dt, got


RUNS = {
    "py_serial": run_serial,
    "py_thread": run_threads,
    "py_process": run_processes,
    "py_thread_pool": run_thread_pool,
    "py_process_pool": run_process_pool,
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
