#!/usr/bin/env python3
"""The CPython side of the switch experiment (bench/switch.c), E9 with
CPython's own hand-overs:

  py_thread / event         two threading.Threads, two threading.Events:
                            set the partner's, wait for one's own
  py_process / mp_pipe      two processes (fork), multiprocessing.Pipe:
                            send, then recv the answer
  py_coroutine / generator  gen.send(x) into a generator that yields it back
  py_coroutine / asyncio    two asyncio tasks, each setting the other's
                            asyncio.Event and awaiting its own
  py_coroutine / greenlet   greenlet.switch() into a greenlet that switches
                            back (python3-greenlet; skipped when missing)

A round trip is two switches (there and back): ns_per_switch is half a
round trip, us_per_roundtrip the whole, roundtrips how many were timed.
Each is sized by a first run of 200 round trips (untimed, also a warm-up)
to fill --min-ms. Every hand-over carries a counter that the partner
increments, checked at the end. Pinning: the initiator binds itself to the
point's first PU, the partner (thread or process) to the second (the same
PU for same_pu rows). Spoken to by the shared driver (lib/core/python.c) in
the protocol of cb_py.py.
"""

import asyncio
import multiprocessing
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cb_py  # noqa: E402


def thread_event(pt, n):
    ping, pong = threading.Event(), threading.Event()
    box = [0]
    stop = []

    def partner():
        pt.bind(1)
        while True:
            ping.wait()
            ping.clear()
            if stop:
                return
            box[0] += 1
            pong.set()

    t = threading.Thread(target=partner)
    t.start()
    t0 = time.perf_counter()
    for _ in range(n):
        ping.set()
        pong.wait()
        pong.clear()
    dt = time.perf_counter() - t0
    stop.append(1)
    ping.set()
    t.join()
    return dt, box[0]


def _pipe_partner(conn, pu):
    if pu is not None:
        os.sched_setaffinity(0, {pu})
    while True:
        v = conn.recv()
        if v is None:
            return
        conn.send(v + 1)


def process_pipe(pt, n):
    ctx = multiprocessing.get_context("fork")
    a, b = ctx.Pipe()
    p = ctx.Process(target=_pipe_partner, args=(b, pt.pu(1)))
    p.start()
    v = 0
    t0 = time.perf_counter()
    for _ in range(n):
        a.send(v)
        v = a.recv()
    dt = time.perf_counter() - t0
    a.send(None)
    p.join(10)
    if p.exitcode != 0:
        raise cb_py.Failed("the partner process exited with %s" % p.exitcode)
    return dt, v


def generator(pt, n):
    def echo():
        v = 0
        while True:
            v = (yield v) + 1

    g = echo()
    next(g)
    v = 0
    t0 = time.perf_counter()
    for _ in range(n):
        v = g.send(v)
    return time.perf_counter() - t0, v


def asyncio_events(pt, n):
    async def main():
        a, b = asyncio.Event(), asyncio.Event()
        box = [0]

        async def partner():
            for _ in range(n):
                await a.wait()
                a.clear()
                box[0] += 1
                b.set()

        task = asyncio.ensure_future(partner())
        await asyncio.sleep(0)
        t0 = time.perf_counter()
        for _ in range(n):
            a.set()
            await b.wait()
            b.clear()
        dt = time.perf_counter() - t0
        await task
        return dt, box[0]

    return asyncio.run(main())


def greenlets(pt, n):
    try:
        import greenlet
    except ImportError as e:
        raise cb_py.Skip(str(e))
    main = greenlet.getcurrent()

    def echo(v):
        while True:
            v = main.switch(v + 1)

    g = greenlet.greenlet(echo)
    v = 0
    t0 = time.perf_counter()
    for _ in range(n):
        v = g.switch(v)
    dt = time.perf_counter() - t0
    return dt, v


RUNS = {
    ("py_thread", "event"): thread_event,
    ("py_process", "mp_pipe"): process_pipe,
    ("py_coroutine", "generator"): generator,
    ("py_coroutine", "asyncio"): asyncio_events,
    ("py_coroutine", "greenlet"): greenlets,
}


def measure(run, pt):
    fn = RUNS.get((pt.executor, pt.workload))
    if fn is None:
        raise cb_py.Failed("no CPython run for %s on %s" % (pt.executor, pt.workload))
    min_s = run.param("min_ms", float) / 1e3
    pt.bind(0)
    first, got = fn(pt, 200)
    if got != 200:
        raise cb_py.Failed("the partner counted %r hand-overs of 200" % (got,))
    n = max(200, int(200 * min_s / first)) if first > 0 else 200
    dt, got = fn(pt, n)
    if got != n:
        raise cb_py.Failed("the partner counted %r hand-overs of %d" % (got, n))
    run.row(pt, "ns_per_switch", dt / n / 2 * 1e9, "ns")
    run.row(pt, "us_per_roundtrip", dt / n * 1e6, "us")
    run.row(pt, "roundtrips", float(n), "count")


def metrics(pt):
    return [("ns_per_switch", "ns"), ("us_per_roundtrip", "us"), ("roundtrips", "count")]


if __name__ == "__main__":
    sys.exit(cb_py.run_main(measure, metrics, optional=("greenlet",)))
