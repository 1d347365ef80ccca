#!/usr/bin/env python3
"""The CPython side of the spawn experiment (bench/spawn.c), E3 with the
tutorials' own constructs:

  py_thread / pthread        threading.Thread(target=empty).start(); .join()
  py_process / fork          multiprocessing.Process(...).start(); .join(),
  py_process / forkserver    one context per start method (the forkserver
  py_process / spawn         itself is started before the clock)
  py_thread_pool / submit    pool.submit(empty).result() on a warm
  py_process_pool / submit   ThreadPoolExecutor(W) / ProcessPoolExecutor(W)
  py_thread_pool / stream    N empty tasks submitted, then every result
  py_process_pool / stream   collected: tasks_per_s
  py_thread / print_order    tutorial 001: a Thread or a Process (default
  py_process / print_order   start method) writes "c" to a pipe, the main
                             thread "p" right after start(): how often "c"
                             came first (child_first_pct over trials),
                             unpinned

Each start or submit is repeated until --min-ms has passed (at least 3
times), after one untimed warm-up; a stream is sized by a first stream of
200 tasks so that it fills --min-ms. Rows: us_per_spawn and spawns, or
tasks_per_s and tasks. Every unit's result is checked: a thread's and a
process's exit (exitcode 0, the flag it set), a task's return value.
Pinning: the measuring thread binds itself to the point's first PU (a new
thread or process inherits it), a pool's workers bind round robin. Spoken to
by the shared driver (lib/core/python.c) in the protocol of cb_py.py.
"""

import multiprocessing
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cb_py  # noqa: E402

# The PUs this process may run on at its start: an unpinned point
# (print_order) returns to them after a pinned one bound the thread.
ALLOWED = os.sched_getaffinity(0)


def empty(i=0):
    return i + 1


def _child():
    pass


def repeat(once, min_s):
    once()  # warm-up, untimed
    n, t0 = 0, time.perf_counter()
    while True:
        once()
        n += 1
        dt = time.perf_counter() - t0
        if n >= 3 and dt >= min_s:
            return dt, n


def start_thread():
    flag = []
    t = threading.Thread(target=flag.append, args=(1,))
    t.start()
    t.join()
    if flag != [1]:
        raise cb_py.Failed("a thread did not run its target")


def make_start_process(ctx):
    def once():
        p = ctx.Process(target=_child)
        p.start()
        p.join()
        if p.exitcode != 0:
            raise cb_py.Failed("a process exited with %s" % p.exitcode)
    return once


def _write_c(fd):
    os.write(fd, b"c")


def print_order(pt, trials):
    """Tutorial 001's "who starts faster": start a Thread or a Process
    (the default start method) whose target writes its line, then write the
    main line; how many times the child's came first."""
    os.sched_setaffinity(0, ALLOWED)
    first = 0
    for _ in range(trials):
        r, w = os.pipe()
        try:
            if pt.executor == "py_thread":
                u = threading.Thread(target=_write_c, args=(w,))
            else:
                u = multiprocessing.Process(target=_write_c, args=(w,))
            u.start()
            os.write(w, b"p")
            u.join()
            if pt.executor == "py_process" and u.exitcode != 0:
                raise cb_py.Failed("a process exited with %s" % u.exitcode)
            got = b""
            while len(got) < 2:
                b = os.read(r, 2 - len(got))
                if not b:
                    raise cb_py.Failed("the pipe closed after %r" % got)
                got += b
            if sorted(got) != sorted(b"cp"):
                raise cb_py.Failed("the pipe held %r, expected one c and one p" % got)
            first += got[:1] == b"c"
        finally:
            os.close(r)
            os.close(w)
    return first


def stream(ex, n):
    t0 = time.perf_counter()
    fs = [ex.submit(empty, i) for i in range(n)]
    for i, f in enumerate(fs):
        if f.result() != i + 1:
            raise cb_py.Failed("task %d returned %r, expected %d" % (i, f.result(), i + 1))
    return time.perf_counter() - t0


def measure(run, pt):
    min_s = run.param("min_ms", float) / 1e3
    if pt.workload == "print_order":
        first = print_order(pt, pt.tasks)
        run.row(pt, "child_first_pct", 100.0 * first / pt.tasks, "%")
        run.row(pt, "trials", float(pt.tasks), "count")
        return
    pt.bind(0)
    if pt.executor == "py_thread" and pt.workload == "pthread":
        dt, n = repeat(start_thread, min_s)
    elif pt.executor == "py_process" and pt.workload in ("fork", "forkserver", "spawn"):
        ctx = multiprocessing.get_context(pt.workload)
        if pt.workload == "forkserver":
            # The server is started once per context: before the clock.
            make_start_process(ctx)()
        dt, n = repeat(make_start_process(ctx), min_s)
    elif pt.executor in ("py_thread_pool", "py_process_pool"):
        ex = cb_py.thread_pool(pt) if pt.executor == "py_thread_pool" else cb_py.process_pool(pt)
        try:
            if pt.workload == "submit":
                def once():
                    if ex.submit(empty, 41).result() != 42:
                        raise cb_py.Failed("a submitted task returned a wrong value")
                dt, n = repeat(once, min_s)
            elif pt.workload == "stream":
                first = stream(ex, 200)
                n = max(200, int(200 * min_s / first)) if first > 0 else 200
                dt = stream(ex, n)
                run.row(pt, "tasks_per_s", n / dt, "1/s")
                run.row(pt, "tasks", float(n), "count")
                return
            else:
                raise cb_py.Failed("no CPython run for %s on %s" % (pt.executor, pt.workload))
        finally:
            ex.shutdown()
    else:
        raise cb_py.Failed("no CPython run for %s on %s" % (pt.executor, pt.workload))
    run.row(pt, "us_per_spawn", dt / n * 1e6, "us")
    run.row(pt, "spawns", float(n), "count")


def metrics(pt):
    if pt.workload == "print_order":
        return [("child_first_pct", "%"), ("trials", "count")]
    if pt.workload == "stream":
        return [("tasks_per_s", "1/s"), ("tasks", "count")]
    return [("us_per_spawn", "us"), ("spawns", "count")]


if __name__ == "__main__":
    sys.exit(cb_py.run_main(measure, metrics))
