#!/usr/bin/env python3
"""The CPython side of the sync experiment (bench/sync.c): the tutorials'
shapes with threading, queue and multiprocessing.

  no_lock, lock, join (E4; py_thread, py_process): N tasks each wait
      outside_us, read a counter that starts at N, wait hold_us, write it
      minus one; without a lock / with threading.Lock (multiprocessing.Lock
      and a shared Value on processes) around read-wait-write / each task
      started and joined in turn. Rows wall_s, final_counter, lost_updates
      (the final counter: every update that survived would bring it to 0).
  race (E5; py_thread): W threads add 1 to a global counter
      (counter += 1, a separate load and store in bytecode), as many times
      each as fit the C rows' increments scaled to CPython (at most
      1,000,000); lost_updates, lost_pct, wall_s. CPython 3.11 switches
      threads only at its eval breaker, every sys.getswitchinterval() (5 ms),
      so a read-modify-write is rarely cut in two.
  semaphore (E6; py_thread, py_process): threading.Semaphore(K) /
      multiprocessing.Semaphore(K), 23 tasks each holding it sem_hold_us;
      wall_s, peak_concurrency (counted inside), waves (wall over a hold).
  fifo, lifo, priority (E12; py_thread): queue.Queue / LifoQueue /
      PriorityQueue(capacity) between W producers and W consumers, items per
      producer; every put and get is logged under the queue's own mutex and
      replayed against a model of the discipline (ties in PriorityQueue are
      broken by the item, as in the tutorial): order_errors, items_per_s,
      wall_s.
  manager_dict (004; py_process): 50 processes each do dic['count'] -= 1 on
      a Manager().dict() starting at 100, without a lock; final_counter
      (50 when no update is lost), lost_updates.

Spoken to by the shared driver (lib/core/python.c) in the protocol of
cb_py.py; every flag of the declaration arrives as --param.
"""

import heapq
import multiprocessing
import os
import queue
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cb_py  # noqa: E402

PY_RACE_MAX = 1000000

# ---- E4 ----


def _proc_task(counter, lock, outside_s, hold_s, use_lock):
    time.sleep(outside_s)
    if use_lock:
        with lock:
            v = counter.value
            time.sleep(hold_s)
            counter.value = v - 1
    else:
        v = counter.value
        time.sleep(hold_s)
        counter.value = v - 1


def counter_run(pt, n, outside_s, hold_s):
    variant = pt.workload
    t0 = time.perf_counter()
    if pt.executor == "py_thread":
        box = [n]
        lock = threading.Lock()

        def task():
            time.sleep(outside_s)
            if variant == "lock":
                with lock:
                    v = box[0]
                    time.sleep(hold_s)
                    box[0] = v - 1
            else:
                v = box[0]
                time.sleep(hold_s)
                box[0] = v - 1

        if variant == "join":
            for _ in range(n):
                t = threading.Thread(target=task)
                t.start()
                t.join()
        else:
            ts = [threading.Thread(target=task) for _ in range(n)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
        final = box[0]
    else:
        ctx = multiprocessing.get_context("fork")
        counter = ctx.Value("l", n, lock=False)
        lock = ctx.Lock()
        args = (counter, lock, outside_s, hold_s, variant == "lock")
        if variant == "join":
            for _ in range(n):
                p = ctx.Process(target=_proc_task, args=args)
                p.start()
                p.join()
                if p.exitcode != 0:
                    raise cb_py.Failed("a task's process exited with %s" % p.exitcode)
        else:
            ps = [ctx.Process(target=_proc_task, args=args) for _ in range(n)]
            for p in ps:
                p.start()
            for p in ps:
                p.join()
            bad = [p.exitcode for p in ps if p.exitcode != 0]
            if bad:
                raise cb_py.Failed("%d task processes failed (exit %s)" % (len(bad), bad[0]))
        final = counter.value
    dt = time.perf_counter() - t0
    return dt, final


# ---- E5 ----

_race = 0


def _race_proc(v, per, start):
    start.wait()
    for _ in range(per):
        v.value += 1


def race_run(pt, per):
    if pt.executor == "py_process":
        ctx = multiprocessing.get_context("fork")
        v = ctx.Value("q", 0, lock=False)
        start = ctx.Barrier(pt.workers)
        ps = [ctx.Process(target=_race_proc, args=(v, per, start)) for _ in range(pt.workers)]
        t0 = time.perf_counter()
        for p in ps:
            p.start()
        for p in ps:
            p.join()
        return time.perf_counter() - t0, v.value
    global _race
    _race = 0
    start = threading.Barrier(pt.workers)

    def worker():
        global _race
        start.wait()
        for _ in range(per):
            _race += 1

    ts = [threading.Thread(target=worker) for _ in range(pt.workers)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return time.perf_counter() - t0, _race


# ---- E6 ----


def _sem_task(sem, inside, peak, hold_s):
    with sem:
        with inside.get_lock():
            inside.value += 1
            if inside.value > peak.value:
                peak.value = inside.value
        time.sleep(hold_s)
        with inside.get_lock():
            inside.value -= 1


def sem_run(pt, permits, tasks, hold_s):
    t0 = time.perf_counter()
    if pt.executor == "py_thread":
        sem = threading.Semaphore(permits)
        lock = threading.Lock()
        state = {"in": 0, "peak": 0}

        def task():
            with sem:
                with lock:
                    state["in"] += 1
                    state["peak"] = max(state["peak"], state["in"])
                time.sleep(hold_s)
                with lock:
                    state["in"] -= 1

        ts = [threading.Thread(target=task) for _ in range(tasks)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        peak = state["peak"]
    else:
        ctx = multiprocessing.get_context("fork")
        sem = ctx.Semaphore(permits)
        inside, pk = ctx.Value("i", 0), ctx.Value("i", 0)
        ps = [ctx.Process(target=_sem_task, args=(sem, inside, pk, hold_s)) for _ in range(tasks)]
        for p in ps:
            p.start()
        for p in ps:
            p.join()
        peak = pk.value
    return time.perf_counter() - t0, peak


# ---- E12 ----


def logged(cls):
    class Logged(cls):
        def _init(self, maxsize):
            super()._init(maxsize)
            self.log = []

        def _put(self, item):
            self.log.append((0, item))
            super()._put(item)

        def _get(self):
            item = super()._get()
            self.log.append((1, item))
            return item

    return Logged


def replay(kind, log):
    """How many deliveries the discipline would not have made: each get is
    compared with the model's next item (and the item taken out of it)."""
    model, errors = [], 0
    for op, item in log:
        if op == 0:
            if kind == "priority":
                heapq.heappush(model, item)
            else:
                model.append(item)
            continue
        if not model:
            errors += 1
            continue
        want = model[0] if kind in ("fifo", "priority") else model[-1]
        if want == item:
            if kind == "priority":
                heapq.heappop(model)
            elif kind == "fifo":
                model.pop(0)
            else:
                model.pop()
        else:
            errors += 1
            if item in model:
                model.remove(item)
                if kind == "priority":
                    heapq.heapify(model)
    return errors


def queue_run(pt, items, capacity):
    kind = pt.workload
    cls = {"fifo": queue.Queue, "lifo": queue.LifoQueue, "priority": queue.PriorityQueue}[kind]
    q = logged(cls)(capacity)
    w = pt.workers
    stop = object()
    got = [0] * w

    def produce(p):
        for i in range(items):
            # priority: (priority, (producer, index)); ties broken by the item.
            q.put(((i * 7919) % 13, (p, i)) if kind == "priority" else (p, i))

    def is_stop(it):
        return it is stop or (kind == "priority" and it[0] >= 100)

    def consume(c):
        n = 0
        while True:
            if is_stop(q.get()):
                break
            n += 1
        got[c] = n

    cs = [threading.Thread(target=consume, args=(c,)) for c in range(w)]
    ps = [threading.Thread(target=produce, args=(p,)) for p in range(w)]
    t0 = time.perf_counter()
    for t in cs + ps:
        t.start()
    for t in ps:
        t.join()
    if kind == "lifo":
        # A LIFO hands the last put out first: a stop put now would
        # overtake the items still queued. Wait until they are taken.
        while q.qsize():
            time.sleep(0.0002)
    for k in range(w):
        q.put((100 + k, (-1, -1)) if kind == "priority" else stop)
    for t in cs:
        t.join()
    dt = time.perf_counter() - t0
    log = [(op, it) for op, it in q.log if not is_stop(it)]
    if sum(got) != w * items:
        raise cb_py.Failed("%d items delivered of %d" % (sum(got), w * items))
    return dt, replay(kind, log)


# ---- 004's Manager().dict() ----


def _dec(dic):
    dic["count"] -= 1


def manager_run(pt):
    ctx = multiprocessing.get_context("fork")
    t0 = time.perf_counter()
    with ctx.Manager() as m:
        dic = m.dict({"count": 100})
        ps = [ctx.Process(target=_dec, args=(dic,)) for _ in range(pt.workers)]
        for p in ps:
            p.start()
        for p in ps:
            p.join()
        final = dic["count"]
    return time.perf_counter() - t0, final


def measure(run, pt):
    w = pt.workload
    if w in ("no_lock", "lock", "join"):
        n = pt.tasks
        outside = run.param("outside_us", float)
        if w == "no_lock" and run.param("no_lock_outside_us", float) >= 0:
            outside = run.param("no_lock_outside_us", float)
        dt, final = counter_run(pt, n, outside / 1e6, run.param("hold_us", float) / 1e6)
        run.row(pt, "wall_s", dt, "s")
        run.row(pt, "final_counter", float(final), "count")
        run.row(pt, "lost_updates", float(final), "count")
    elif w == "race":
        per = min(run.param("increments", int), PY_RACE_MAX if pt.executor == "py_thread"
                  else PY_RACE_MAX // 10)
        dt, total = race_run(pt, per)
        lost = pt.workers * per - total
        run.row(pt, "lost_updates", float(lost), "count",
                detail=("%d increments per thread; sys.getswitchinterval() = %g s"
                        % (per, sys.getswitchinterval())) if pt.executor == "py_thread" else
                ("%d increments per process on a multiprocessing.Value(lock=False)" % per))
        run.row(pt, "lost_pct", 100.0 * lost / (pt.workers * per), "%")
        run.row(pt, "wall_s", dt, "s")
    elif w == "semaphore":
        hold = run.param("sem_hold_us", float) / 1e6
        permits = run.param("permits", int)
        dt, peak = sem_run(pt, permits, pt.tasks, hold)
        if peak > permits:
            raise cb_py.Failed("%d inside Semaphore(%d) at once" % (peak, permits))
        run.row(pt, "wall_s", dt, "s")
        run.row(pt, "peak_concurrency", float(peak), "count")
        run.row(pt, "waves", dt / hold, "holds")
    elif w in ("fifo", "lifo", "priority"):
        items = pt.tasks // pt.workers
        dt, errors = queue_run(pt, items, run.param("capacity", int))
        run.row(pt, "items_per_s", pt.workers * items / dt, "1/s")
        run.row(pt, "order_errors", float(errors), "count",
                status="ok" if errors == 0 else "error",
                detail="" if errors == 0 else "deliveries out of %s order" % w)
        run.row(pt, "wall_s", dt, "s")
    elif w == "manager_dict":
        dt, final = manager_run(pt)
        run.row(pt, "wall_s", dt, "s")
        run.row(pt, "final_counter", float(final), "count")
        run.row(pt, "lost_updates", float(final - (100 - pt.workers)), "count")
    else:
        raise cb_py.Failed("no CPython run for %s" % w)


def metrics(pt):
    w = pt.workload
    if w in ("no_lock", "lock", "join", "manager_dict"):
        return [("wall_s", "s"), ("final_counter", "count"), ("lost_updates", "count")]
    if w == "race":
        return [("lost_updates", "count"), ("lost_pct", "%"), ("wall_s", "s")]
    if w == "semaphore":
        return [("wall_s", "s"), ("peak_concurrency", "count"), ("waves", "holds")]
    return [("items_per_s", "1/s"), ("order_errors", "count"), ("wall_s", "s")]


if __name__ == "__main__":
    sys.exit(cb_py.run_main(measure, metrics))
