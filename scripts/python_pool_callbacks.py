#!/usr/bin/env python3
"""The CPython side of the pool_callbacks experiment (bench/pool_callbacks.c),
E8 with the tutorials' own constructs:

  py_thread_pool   concurrent.futures.ThreadPoolExecutor(W): submit, then
                   future.add_done_callback(cb)
  py_process_pool  concurrent.futures.ProcessPoolExecutor(W) (fork): the same
  py_mp_pool       multiprocessing.Pool(W) (fork): apply_async(task,
                   callback=cb)

on the C rows' workloads: `callbacks` (2 tasks of --task-ms, each callback
waits --callback-ms) and `blocked_callback` (the point's tasks of
--task-ms, task 0's callback waits --block-ms, the others none). Each pool
is started, its workers bound round robin to the point's PUs and warmed
(every worker answered) before the clock. Each task sleeps, then returns
its index, its end time (time.perf_counter: CLOCK_MONOTONIC, one clock for
every process), its pid and its thread; each callback checks the value and
records its own start, end, pid and thread.

Rows, as the C rows: wall_s (first submit to the last callback's end),
callbacks_s (first task's end to the last callback's end), result_wait_s
(the longest any task other than the blocked one waited from its end to
its callback's start: under a blocked callback, the delay of the later
results), callback_peak (most callbacks running at once). And where the
callbacks ran, as facts (counts of the point's callbacks; the detail names
the threads): cb_in_task_thread (the thread, and pid, that ran the task),
cb_in_main_thread (the parent's main thread), cb_in_parent (pid is the
parent's), cb_threads (distinct threads that ran callbacks), and
cb_in_pool_thread (a thread of the parent that ran none of the tasks:
ProcessPoolExecutor's manager thread, multiprocessing.Pool's result
handler). Spoken to by the shared driver (lib/core/python.c) in the
protocol of cb_py.py.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cb_py  # noqa: E402

METRICS = [
    ("wall_s", "s"), ("callbacks_s", "s"), ("result_wait_s", "s"), ("callback_peak", "count"),
    ("cb_in_task_thread", "count"), ("cb_in_main_thread", "count"), ("cb_in_parent", "count"),
    ("cb_in_pool_thread", "count"), ("cb_threads", "count"),
]


def task(i, task_s):
    time.sleep(task_s)
    t = threading.current_thread()
    return (i, time.perf_counter(), os.getpid(), t.ident, t.name)


class Book:
    """What the callbacks record, under one lock."""

    def __init__(self, n, cb_s, blocked, block_s):
        self.n, self.cb_s, self.blocked, self.block_s = n, cb_s, blocked, block_s
        self.lock = threading.Condition()
        self.task = [None] * n  # (end, pid, tid, name)
        self.cb = [None] * n    # (start, end, pid, tid, name)
        self.now = self.peak = self.done = 0
        self.bad = None

    def callback(self, i, value):
        start = time.perf_counter()
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            if not isinstance(value, tuple) or value[0] != i:
                raise ValueError("task %d returned %r" % (i, value))
            time.sleep(self.block_s if i == self.blocked else self.cb_s)
            ok = None
        except BaseException as e:  # noqa: B902: a callback's failure is the row's
            ok = "%s: %s" % (type(e).__name__, e)
        t = threading.current_thread()
        end = time.perf_counter()
        with self.lock:
            self.now -= 1
            if ok and not self.bad:
                self.bad = ok
            if not ok:
                self.task[i] = value[1:]
            self.cb[i] = (start, end, os.getpid(), t.ident, t.name)
            self.done += 1
            self.lock.notify_all()

    def wait(self, timeout):
        with self.lock:
            return self.lock.wait_for(lambda: self.done == self.n, timeout)


def close_pool(pt, ex):
    if pt.executor == "py_mp_pool":
        ex.close()
        ex.join()
    else:
        ex.shutdown()


def submit(pt, ex, book, i, task_s):
    if pt.executor == "py_mp_pool":
        ex.apply_async(task, (i, task_s), callback=lambda v: book.callback(i, v),
                       error_callback=lambda e: book.callback(i, e))
        return

    def cb(f):
        try:
            v = f.result()
        except BaseException as e:  # noqa: B902
            v = e
        book.callback(i, v)

    ex.submit(task, i, task_s).add_done_callback(cb)


def names(xs):
    s = sorted(set(xs))
    return ", ".join(s[:4]) + (" ..." if len(s) > 4 else "")


def measure(run, pt):
    if pt.executor not in ("py_thread_pool", "py_process_pool", "py_mp_pool") or \
            pt.workload not in ("callbacks", "blocked_callback"):
        raise cb_py.Failed("no CPython run for %s on %s" % (pt.executor, pt.workload))
    blocked = pt.workload == "blocked_callback"
    task_s = run.param("task_ms") / 1e3
    cb_s = 0.0 if blocked else run.param("callback_ms") / 1e3
    block_s = run.param("block_ms") / 1e3
    n = pt.tasks
    if n < 1:
        raise cb_py.Failed("no tasks")
    book = Book(n, cb_s, 0 if blocked else -1, block_s)
    limit = run.args.timeout if run.args.timeout > 0 else 60
    ex = (cb_py.thread_pool(pt) if pt.executor == "py_thread_pool"
          else cb_py.process_pool(pt, mp_pool=pt.executor == "py_mp_pool"))
    try:
        t0 = time.perf_counter()
        for i in range(n):
            submit(pt, ex, book, i, task_s)
        if not book.wait(limit):
            raise cb_py.Failed("%d of %d callbacks ran within %g s" % (book.done, n, limit))
        t1 = max(c[1] for c in book.cb)
    finally:
        close_pool(pt, ex)
    if book.bad:
        raise cb_py.Failed(book.bad)
    me, main = os.getpid(), threading.main_thread().ident
    task_threads = {(t[1], t[2]) for t in book.task}
    first_end = min(t[0] for t in book.task)
    wait = max([book.cb[i][0] - book.task[i][0] for i in range(n) if i != book.blocked] + [0.0])
    in_task = sum(1 for i in range(n) if book.cb[i][2:4] == book.task[i][1:3])
    in_main = sum(1 for c in book.cb if c[2] == me and c[3] == main)
    in_parent = sum(1 for c in book.cb if c[2] == me)
    in_pool = sum(1 for c in book.cb
                  if c[2] == me and c[3] != main and (c[2], c[3]) not in task_threads)
    cb_threads = {(c[2], c[3]) for c in book.cb}
    where = "callbacks ran in %s (pid %s); tasks in %s (pid %s); parent pid %d" % (
        names(c[4] for c in book.cb), names(str(c[2]) for c in book.cb),
        names(t[3] for t in book.task), names(str(t[1]) for t in book.task), me)
    run.row(pt, "wall_s", t1 - t0, "s")
    run.row(pt, "callbacks_s", t1 - first_end, "s")
    run.row(pt, "result_wait_s", max(wait, 0.0), "s")
    run.row(pt, "callback_peak", float(book.peak), "count")
    run.row(pt, "cb_in_task_thread", float(in_task), "count", detail=where)
    run.row(pt, "cb_in_main_thread", float(in_main), "count", detail=where)
    run.row(pt, "cb_in_parent", float(in_parent), "count", detail=where)
    run.row(pt, "cb_in_pool_thread", float(in_pool), "count", detail=where)
    run.row(pt, "cb_threads", float(len(cb_threads)), "count", detail=where)


def metrics(pt):
    return METRICS


if __name__ == "__main__":
    sys.exit(cb_py.run_main(measure, metrics))
