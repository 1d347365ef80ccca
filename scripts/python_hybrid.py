#!/usr/bin/env python3
"""The CPython side of the hybrid experiment (bench/hybrid.c): E11, tutorial
004's "(4+1) x (4 x 5) x 500 = 50000" in CPython, P x T x C sleeping tasks
held at once on

  py_hybrid     P multiprocessing processes (fork) x T threading.Threads
                each running its own asyncio event loop of C tasks
                (asyncio.sleep): the tutorial's processes + threads +
                coroutines;
  py_thread     P x T x C threading.Threads in one process (time.sleep);
                skipped, before anything starts, with the C threads row's
                kernel limits (pid_max, threads-max, max_map_count / 2) when
                they forbid the count, or with the memory arithmetic when the
                threads would need more than a quarter of the machine's;
  py_coroutine  P x T x C asyncio tasks on one thread's event loop;
  py_gevent     P x T x C greenlets (gevent.spawn, gevent.sleep) in one
                process; skipped, naming the module, without gevent.

Every task, when it starts, stamps its start (time.monotonic_ns: one clock
for every process), sleeps --sleep-ms, stamps its end and marks its own slot,
each in its own entry of arrays the processes share, so without a lock; the
tasks alive at once are swept from the stamps after the clock stops. At the
end every slot must hold exactly 1 (a wrong count is the point's error row,
naming the task). Rows: wall_s (from the first fork or
start to the last task done), startup_s (to the last task started),
peak_alive (tasks alive at once), rss_kib (the sum of each process's VmHWM
from /proc/self/status; py_hybrid's children send theirs back through a
pipe). Spoken to by the shared driver (lib/core/python.c) in the protocol of
cb_py.py; every flag of the declaration arrives as --param.
"""

import array
import asyncio
import bisect
import ctypes
import gc
import multiprocessing
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cb_py  # noqa: E402

METRICS = [("wall_s", "s"), ("startup_s", "s"), ("peak_alive", "count"), ("rss_kib", "KiB")]

# What a CPython thread parked in time.sleep costs in resident memory: its
# thread state, frames, the Thread object and its lock, and the touched pages
# of its stack; measured on 3.11 here at about 7 KiB (10,000 threads: 90 MiB
# VmHWM, 22 MiB of it the interpreter's own); the arithmetic takes 16.
PY_THREAD_KIB = 16


def vm_hwm_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def read_long(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return -1


def mem_total_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    return 0


class Tally:
    """One run's record, lock-free: each task writes only its own entries,
    its start and end (time.monotonic_ns, one clock for every process) and
    its slot; the peak of tasks alive at once is swept from the stamps after
    the clock stops. shared: in memory the forked processes share."""

    def __init__(self, n, shared):
        if shared:
            self.st = multiprocessing.RawArray(ctypes.c_longlong, n)
            self.en = multiprocessing.RawArray(ctypes.c_longlong, n)
            self.slot = multiprocessing.RawArray(ctypes.c_ubyte, n)
        else:
            self.st = array.array("q", bytes(8 * n))
            self.en = array.array("q", bytes(8 * n))
            self.slot = bytearray(n)

    def start(self, i):
        self.st[i] = time.monotonic_ns()

    def done(self, i):
        self.en[i] = time.monotonic_ns()
        self.slot[i] += 1

    def summary(self):
        """(started, last start, peak alive): a task is alive from its start
        to its end; one that ended at or before another's start was not
        alive with it."""
        st = [v for v in self.st[:] if v]
        en = sorted(v for v in self.en[:] if v)
        st.sort()
        peak = 0
        for k, s in enumerate(st):
            a = k + 1 - bisect.bisect_right(en, s)
            if a > peak:
                peak = a
        return len(st), (st[-1] if st else 0), peak


async def _loop_main(tl, first, c, sleep_s):
    st, en, slot, now, sleep = tl.st, tl.en, tl.slot, time.monotonic_ns, asyncio.sleep

    async def coro(i):
        st[i] = now()
        await sleep(sleep_s)
        en[i] = now()
        slot[i] += 1

    await asyncio.gather(*[coro(first + k) for k in range(c)])


def _loop_thread(tl, first, c, sleep_s, errs):
    try:
        asyncio.run(_loop_main(tl, first, c, sleep_s))
    except BaseException as e:  # noqa: B036: reported as the point's error
        errs.append("%s: %s" % (type(e).__name__, e))


def _threads_of_loops(tl, first, t, c, sleep_s):
    errs = []
    ths = [threading.Thread(target=_loop_thread, args=(tl, first + k * c, c, sleep_s, errs))
           for k in range(t)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    return errs


def _child(tl, first, t, c, sleep_s, conn):
    try:  # die with the script (PR_SET_PDEATHSIG, SIGKILL)
        ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)
    except Exception:
        pass
    errs = _threads_of_loops(tl, first, t, c, sleep_s)
    conn.send((vm_hwm_kib(), errs[:1]))
    conn.close()


def run_hybrid(p, t, c, n, sleep_s, limit):
    ctx = multiprocessing.get_context("fork")
    tl = Tally(n, True)
    procs, pipes = [], []
    t0 = time.monotonic_ns()
    try:
        for i in range(p):
            r, w = ctx.Pipe(duplex=False)
            pr = ctx.Process(target=_child, args=(tl, i * t * c, t, c, sleep_s, w), daemon=True)
            pr.start()
            w.close()
            procs.append(pr)
            pipes.append(r)
        rss, why = 0, None
        for i, (pr, r) in enumerate(zip(procs, pipes)):
            got = None
            try:
                if r.poll(limit):
                    got = r.recv()
            except (EOFError, OSError):
                got = None
            pr.join(limit)
            if why is None and pr.exitcode != 0:
                ec = pr.exitcode
                why = ("process %d of the py_hybrid %s" %
                       (i, "is still running" if ec is None else
                        "died of signal %d" % -ec if ec < 0 else "exited %d" % ec))
            elif why is None and got is None:
                why = "process %d of the py_hybrid sent no VmHWM" % i
            elif why is None and got[1]:
                why = "process %d of the py_hybrid: %s" % (i, got[1][0])
            if got:
                rss += got[0]
        t1 = time.monotonic_ns()
    finally:
        for pr in procs:
            if pr.is_alive():
                pr.kill()
            pr.join()
        for r in pipes:
            r.close()
    if why:
        raise cb_py.Failed(why)
    return tl, t0, t1, rss


def thread_skip(n):
    pid_max = read_long("/proc/sys/kernel/pid_max")
    tmax = read_long("/proc/sys/kernel/threads-max")
    maps = read_long("/proc/sys/vm/max_map_count")
    if (pid_max > 0 and n >= pid_max) or (tmax > 0 and n >= tmax) or (maps > 0 and 2 * n >= maps):
        return ("%d threads: over pid_max %d, threads-max %d or max_map_count/2 %d" %
                (n, pid_max, tmax, maps // 2))
    total = mem_total_kib()
    need = n * PY_THREAD_KIB
    if total > 0 and need > total // 4:
        return ("%d CPython threads x %d KiB = %d MiB: over a quarter of the %d MiB here" %
                (n, PY_THREAD_KIB, need // 1024, total // 1024))
    return None


def run_threads(n, sleep_s, stack_kib):
    tl = Tally(n, False)

    def body(i):
        tl.start(i)
        time.sleep(sleep_s)
        tl.done(i)

    old = threading.stack_size()
    ths = []
    t0 = time.monotonic_ns()
    try:
        # CPython's frames want more than a C thread's 16 KiB: at least 64.
        threading.stack_size(max(64, stack_kib) * 1024)
        for i in range(n):
            th = threading.Thread(target=body, args=(i,), daemon=True)
            try:
                th.start()
            except RuntimeError as e:
                raise cb_py.Failed("threading.Thread.start failed after %d threads: %s" % (i, e))
            ths.append(th)
    finally:
        threading.stack_size(old)
        for th in ths:
            th.join()
    t1 = time.monotonic_ns()
    return tl, t0, t1, vm_hwm_kib()


def run_coroutines(n, sleep_s):
    tl = Tally(n, False)
    t0 = time.monotonic_ns()
    asyncio.run(_loop_main(tl, 0, n, sleep_s))
    t1 = time.monotonic_ns()
    return tl, t0, t1, vm_hwm_kib()


def run_greenlets(n, sleep_s):
    try:
        import gevent
    except Exception as e:
        raise cb_py.Skip("gevent does not import here (%s: %s): pip install gevent, or "
                         "--python an interpreter that has it" % (type(e).__name__, e))
    tl = Tally(n, False)

    def body(i):
        tl.start(i)
        gevent.sleep(sleep_s)
        tl.done(i)

    t0 = time.monotonic_ns()
    gs = [gevent.spawn(body, i) for i in range(n)]
    gevent.joinall(gs, raise_error=True)
    t1 = time.monotonic_ns()
    return tl, t0, t1, vm_hwm_kib()


def measure(run, pt):
    p = run.param("processes", int)
    t = run.param("threads", int)
    c = run.param("coros", int)
    sleep_s = run.param("sleep_ms", float) / 1e3
    stack_kib = run.param("stack_kib", int, 16)
    n = p * t * c
    if pt.tasks != n:
        raise cb_py.Failed("the point's %d tasks are not processes x threads x coros = %d" %
                           (pt.tasks, n))
    limit = run.args.timeout if run.args.timeout > 0 else 120
    gc.collect()  # the last point's garbage, before the clock
    if pt.executor == "py_hybrid":
        tl, t0, t1, rss = run_hybrid(p, t, c, n, sleep_s, limit)
    elif pt.executor == "py_thread":
        why = thread_skip(n)
        if why:
            raise cb_py.Skip(why)
        tl, t0, t1, rss = run_threads(n, sleep_s, stack_kib)
    elif pt.executor == "py_coroutine":
        tl, t0, t1, rss = run_coroutines(n, sleep_s)
    elif pt.executor == "py_gevent":
        tl, t0, t1, rss = run_greenlets(n, sleep_s)
    else:
        raise cb_py.Failed("no CPython run for executor %s" % pt.executor)
    started, last, peak = tl.summary()
    bad = next((i for i in range(n) if tl.slot[i] != 1), -1)
    if bad >= 0 or started != n:
        raise cb_py.Failed("task %d ran %d times (%d of %d started)" %
                           (bad, tl.slot[bad] if bad >= 0 else 1, started, n))
    run.row(pt, "wall_s", (t1 - t0) / 1e9, "s")
    run.row(pt, "startup_s", (last - t0) / 1e9, "s")
    run.row(pt, "peak_alive", float(peak), "count")
    run.row(pt, "rss_kib", float(rss), "KiB")


def metrics(pt):
    return METRICS


if __name__ == "__main__":
    sys.exit(cb_py.run_main(measure, metrics, optional=["gevent"]))
