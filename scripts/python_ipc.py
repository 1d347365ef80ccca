#!/usr/bin/env python3
"""The CPython side of the ipc experiment (bench/ipc.c): moving messages
between two threads or two processes with CPython's own constructs, spoken
to by the shared driver (lib/core/python.c) in the protocol of cb_py.py:
one run per repetition, a point per (executor, mechanism, message size,
pin), TASKS the message size in bytes.

Mechanisms (workload column; executor in brackets):
  queue          queue.Queue(maxsize=64) between two threading.Threads [py_thread]
  mp_queue       multiprocessing.Queue between two processes (fork) [py_process]:
                 the sender's feeder thread pickles into a pipe
  mp_pipe        multiprocessing.Pipe(): Connection.send / recv (pickled) [py_process]
  manager_list   a multiprocessing.Manager().list() proxy: the sender appends,
                 the receiver pops from the front, polling; every call is a
                 round trip to the manager's process [py_process]
  isolation      tutorial 001: a Thread [py_thread] or a Process [py_process] whose
                 target sets the global n = 0 (it starts at 100); the parent
                 reads n after join() (parent_sees: 0, and 100 for a process)
  shared_memory  multiprocessing.shared_memory.SharedMemory holding two rings
                 (64 slots each); a lock-free hand-off: the producer copies the
                 message into a slot and then advances the head counter (8
                 bytes, struct.pack_into), the consumer waits for the head with
                 os.sched_yield() and copies the message out with bytes() to
                 compare it (a memoryview comparison is element-wise, ~50x
                 slower); the counters' order relies on x86's stores staying in
                 order (TSO) [py_process]

Messages: 8 bytes of the message index (little-endian), then a fixed
pseudo-random body; the receiver checks every byte of every message
(startswith / endswith, no copies) and, on a mismatch, names the message and
the first wrong offset. Each configuration is a one-way stream (bytes_per_s,
msgs_per_s: from the first message sent to the receiver's report that it
checked the end message) and a ping-pong (us_per_roundtrip: the partner
checks each message and sends it back, the initiator checks the echo).
Sizing: each mode first runs for a fifth of ipc's --py-min-ms (--param
py_min_ms) to measure this interpreter's rate (the calibration, also a
warm-up), then sends as many messages as fill --py-min-ms at that rate.
Pinning: the initiator binds itself to the point's first PU, its partner
thread or process to the second (os.sched_setaffinity; a thread binds
itself; the same PU for same_pu), the manager's process inherits the
initiator's. The fault flags come as --param fault_corrupt=1 (the sender
flips one byte of message 5) and --param fault_die=1 (the receiver dies of
SIGSEGV at message 5).

Standard library only; Python 3.8 or later.
"""

import multiprocessing
import multiprocessing.shared_memory
import os
import queue
import random
import signal
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cb_py  # noqa: E402

MECHS = {
    "queue": "py_thread",
    "mp_queue": "py_process",
    "mp_pipe": "py_process",
    "manager_list": "py_process",
    "shared_memory": "py_process",
}
END = (1 << 64) - 1
FAULT_MSG = 5
DEPTH = 64  # queue.Queue's bound and the shared-memory rings' slots
POLL_S = 0.1  # how often a waiting initiator looks whether its partner is alive


class Broken(Exception):
    """The partner is gone: status and detail of the row."""

    def __init__(self, status, detail):
        super().__init__(detail)
        self.status, self.detail = status, detail


# ---- messages ----

class Pattern:
    def __init__(self, n):
        self.n = n
        self.body = random.Random(n).randbytes(n - 8) if n > 8 else b""

    def make(self, idx, corrupt=False):
        m = idx.to_bytes(8, "little") + self.body
        if corrupt:
            b = bytearray(m)
            b[self.n // 2 + 3 if self.n // 2 + 3 < self.n else self.n - 1] ^= 0x5a
            m = bytes(b)
        return m

    def end(self):
        return self.ctl(END)

    def ctl(self, h):
        """A control message (a mode's start, the end): its header, the body."""
        return h.to_bytes(8, "little") + self.body

    def bad(self, msg, idx):
        """None when msg is message idx, else the first wrong byte in
        words."""
        if len(msg) == self.n and msg.startswith(idx.to_bytes(8, "little")) and \
                msg.endswith(self.body):
            return None
        want = self.make(idx)
        for i in range(min(len(msg), self.n)):
            if msg[i] != want[i]:
                return "byte %d is 0x%02x, expected 0x%02x" % (i, msg[i], want[i])
        return "%d bytes, expected %d" % (len(msg), self.n)


def header(msg):
    return int.from_bytes(msg[:8], "little")


def bind(pu):
    if pu is not None:
        os.sched_setaffinity(0, {pu})


# ---- the partner's side, the same for every mechanism ----

def partner_loop(recv, send, release, report, pat, fault_die, die):
    """Mode after mode (the initiator decides how many): receive until the
    end message, checking each; in a ping-pong, send each back. Reports
    (received, first bad message or -1, what was wrong) after each."""
    while True:
        mode = recv()
        if mode is None or header(mode) == END:
            return
        pingpong = header(mode) == 1
        count, bad = 0, (-1, "")
        while True:
            m = recv()
            if header(m) == END:
                release(m)
                break
            if fault_die and count == FAULT_MSG and not pingpong:
                die()
            if bad[0] < 0:
                off = pat.bad(m, count)
                if off is not None:
                    bad = (count, off)
            count += 1
            if pingpong:
                send(m)
            else:
                release(m)
        report((count, bad[0], bad[1]))


# ---- one configuration: the initiator ----

class Channel:
    """What the initiator drives: send(msg), recv() (the echo), mode(k)
    (tells the partner a mode starts: 0 stream, 1 ping-pong), report()
    (the partner's), close()."""


def run_modes(ch, pat, min_s, corrupt, least=4):
    """Calibration, then the timed stream and ping-pong, each of at least
    `least` messages. Returns (bytes_per_s, msgs_per_s, us_per_roundtrip,
    detail or '')."""
    bad = []

    def note(what, rep):
        count, msg, wrong = rep
        if msg >= 0 and not bad:
            bad.append("%smessage %d: %s" % (what, msg, wrong))
        return count

    def stream(n_msgs=None, secs=None):
        ch.mode(0)
        t0 = time.perf_counter()
        i = 0
        while (n_msgs is not None and i < n_msgs) or \
                (secs is not None and time.perf_counter() - t0 < secs):
            ch.send(pat.make(i, corrupt and i == FAULT_MSG))
            i += 1
        ch.send(pat.end())
        got = note("", ch.report())
        t1 = time.perf_counter()
        if got != i and not bad:
            bad.append("%d messages sent, %d received" % (i, got))
        return i, t1 - t0

    def pingpong(n_msgs=None, secs=None):
        ch.mode(1)
        t0 = time.perf_counter()
        i = 0
        while (n_msgs is not None and i < n_msgs) or \
                (secs is not None and time.perf_counter() - t0 < secs):
            ch.send(pat.make(i, corrupt and i == FAULT_MSG))
            e = ch.recv()
            off = pat.bad(e, i)
            if off is not None and not bad:
                bad.append("echo of message %d: %s" % (i, off))
            ch.release(e)
            i += 1
        t1 = time.perf_counter()
        ch.send(pat.end())
        note("", ch.report())
        return i, t1 - t0

    # Calibration: a fifth of the time, then the count that fills it.
    k, t = stream(secs=min_s / 5)
    k, t = stream(n_msgs=max(least, int(k / max(t, 1e-6) * min_s)))
    bw, rate = k * pat.n / t, k / t
    k, t = pingpong(secs=min_s / 5)
    k, t = pingpong(n_msgs=max(least, int(k / max(t, 1e-6) * min_s)))
    return bw, rate, t / k * 1e6, bad[0] if bad else ""


# -- queue.Queue between threads --

class ThreadQueue(Channel):
    def __init__(self, pat, pus, fault_die):
        self.q = [queue.Queue(DEPTH), queue.Queue(DEPTH)]
        self.rep = queue.Queue()
        self.pat = pat
        self.dead = False

        def die():
            self.dead = True
            raise SystemExit  # the receiver thread ends here

        def body():
            bind(pus[1])
            partner_loop(self.q[0].get, self.q[1].put, lambda m: None, self.rep.put, pat,
                         fault_die, die)

        self.t = threading.Thread(target=body, daemon=True)
        self.t.start()

    def _wait(self, fn):
        while True:
            try:
                return fn()
            except (queue.Full, queue.Empty):
                if not self.t.is_alive():
                    raise Broken("crashed", "receiver thread died mid-stream")

    def send(self, m):
        self._wait(lambda: self.q[0].put(m, timeout=POLL_S))

    def recv(self):
        return self._wait(lambda: self.q[1].get(timeout=POLL_S))

    def release(self, m):
        pass

    def mode(self, k):
        self.send(self.pat.ctl(k))

    def report(self):
        return self._wait(lambda: self.rep.get(timeout=POLL_S))

    def close(self):
        if self.t.is_alive():
            self.q[0].put(self.pat.end())
            self.t.join()


# -- the process mechanisms: a forked partner, reports over a Pipe --

def die_now():
    os.kill(os.getpid(), signal.SIGSEGV)


class ProcessChannel(Channel):
    def __init__(self, ctx, pat, pus, fault_die, make_ends, manager=None):
        self.rep_r, rep_w = ctx.Pipe(duplex=False)
        self.pat = pat
        self.ends = make_ends(ctx, manager)
        ends = self.ends

        def child():
            bind(pus[1])
            r, s, rel = ends.partner()
            partner_loop(r, s, rel, rep_w.send, pat, fault_die, die_now)

        self.p = ctx.Process(target=child, daemon=True)
        self.p.start()
        rep_w.close()
        ends.initiator()

    def gone(self):
        self.p.join(0)
        if self.p.exitcode is None:
            return None
        code = self.p.exitcode
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = "signal %d" % -code
            return Broken("crashed", "receiver died of %s mid-stream" % name)
        return Broken("error", "receiver exited %d" % code)

    def check(self):
        g = self.gone()
        if g:
            raise g

    def send(self, m):
        try:
            self.ends.send(m, self.check)
        except (BrokenPipeError, EOFError, ConnectionError, OSError):
            raise self.gone_or_broken()

    def recv(self):
        try:
            return self.ends.recv(self.check)
        except (BrokenPipeError, EOFError, ConnectionError, OSError):
            raise self.gone_or_broken()

    def gone_or_broken(self):
        self.p.join(1)
        return self.gone() or Broken("error", "the channel broke")

    def release(self, m):
        pass

    def mode(self, k):
        self.send(self.pat.ctl(k))

    def report(self):
        while not self.rep_r.poll(POLL_S):
            self.check()
        try:
            return self.rep_r.recv()
        except EOFError:
            raise self.gone_or_broken()

    def close(self):
        if self.p.is_alive():
            try:
                self.send(self.pat.end())
            except Broken:
                pass
            self.p.join(5)
        if self.p.is_alive():
            self.p.kill()
            self.p.join()
        self.ends.close()


class MpQueueEnds:
    def __init__(self, ctx, manager):
        self.q = [ctx.Queue(), ctx.Queue()]

    def partner(self):
        return self.q[0].get, self.q[1].put, lambda m: None

    def initiator(self):
        pass

    def send(self, m, check):
        self.q[0].put(m)

    def recv(self, check):
        while True:
            try:
                return self.q[1].get(timeout=POLL_S)
            except queue.Empty:
                check()

    def close(self):
        for q in self.q:
            q.close()
            q.cancel_join_thread()


class MpPipeEnds:
    def __init__(self, ctx, manager):
        self.a, self.b = ctx.Pipe()

    def partner(self):
        self.a.close()
        return self.b.recv, self.b.send, lambda m: None

    def initiator(self):
        self.b.close()

    def send(self, m, check):
        self.a.send(m)

    def recv(self, check):
        while not self.a.poll(POLL_S):
            check()
        return self.a.recv()

    def close(self):
        self.a.close()


class ManagerListEnds:
    def __init__(self, ctx, manager):
        self.l = [manager.list(), manager.list()]

    @staticmethod
    def pop(lst, check=None):
        while True:
            try:
                return lst.pop(0)
            except IndexError:
                if check:
                    check()
                os.sched_yield()

    def partner(self):
        return (lambda: self.pop(self.l[0])), self.l[1].append, lambda m: None

    def initiator(self):
        pass

    def send(self, m, check):
        self.l[0].append(m)

    def recv(self, check):
        return self.pop(self.l[1], check)

    def close(self):
        pass


class ShmRing:
    """One direction: head and tail counters (8 bytes each) then DEPTH
    slots of n bytes, in a SharedMemory block."""

    def __init__(self, buf, base, n):
        self.buf, self.base, self.n = buf, base, n
        self.data = base + 16

    def put(self, m, check=None):
        head, tail = struct.unpack_from("QQ", self.buf, self.base)
        spins = 0
        while head - tail >= DEPTH:
            spins += 1
            if check and spins % 1000 == 0:
                check()
            os.sched_yield()
            tail = struct.unpack_from("Q", self.buf, self.base + 8)[0]
        off = self.data + (head % DEPTH) * self.n
        self.buf[off:off + self.n] = m
        struct.pack_into("Q", self.buf, self.base, head + 1)

    def get(self, check=None):
        tail = struct.unpack_from("Q", self.buf, self.base + 8)[0]
        spins = 0
        while struct.unpack_from("Q", self.buf, self.base)[0] == tail:
            spins += 1
            if check and spins % 1000 == 0:
                check()
            os.sched_yield()
        off = self.data + (tail % DEPTH) * self.n
        m = bytes(self.buf[off:off + self.n])
        struct.pack_into("Q", self.buf, self.base + 8, tail + 1)
        return m


class ShmEnds:
    def __init__(self, ctx, manager, n):
        lane = 16 + DEPTH * n
        self.shm = multiprocessing.shared_memory.SharedMemory(create=True, size=2 * lane)
        self.shm.buf[:2 * lane] = bytes(2 * lane)  # touched before the fork
        self.r = [ShmRing(self.shm.buf, 0, n), ShmRing(self.shm.buf, lane, n)]

    def partner(self):
        return self.r[0].get, self.r[1].put, lambda m: None

    def initiator(self):
        pass

    def send(self, m, check):
        self.r[0].put(m, check)

    def recv(self, check):
        return self.r[1].get(check)

    def close(self):
        self.r = None
        self.shm.close()
        self.shm.unlink()


def make_channel(mech, ctx, pat, pus, fault_die, manager):
    if mech == "queue":
        return ThreadQueue(pat, pus, fault_die)
    ends = {"mp_queue": MpQueueEnds, "mp_pipe": MpPipeEnds, "manager_list": ManagerListEnds,
            "shared_memory": lambda c, m: ShmEnds(c, m, pat.n)}[mech]
    return ProcessChannel(ctx, pat, pus, fault_die, ends, manager)


# ---- the run: the shared driver's protocol (cb_py.py) ----

METRICS = [("bytes_per_s", "B/s"), ("msgs_per_s", "1/s"), ("us_per_roundtrip", "us")]

# The managers of manager_list's points, one per initiator PU (forked there,
# on its first point), shut down when the run ends.
MANAGERS = {}


def manager_on(ctx, pu):
    if pu not in MANAGERS:
        MANAGERS[pu] = ctx.Manager()
    return MANAGERS[pu]


# 001's isolation: the global the child sets to 0.
n = 100


def _set_zero():
    global n
    n = 0


def isolation(run, pt):
    """Tutorial 001: a threading.Thread or a multiprocessing.Process (its
    default start method) whose target sets the global n = 0; the parent
    reads n after join(): 0 after a thread, 100 after a process."""
    global n
    n = 100
    proc = pt.executor == "py_process"
    if not proc and pt.executor != "py_thread":
        raise cb_py.Failed("no CPython run for %s on isolation" % pt.executor)
    u = multiprocessing.Process(target=_set_zero) if proc else threading.Thread(target=_set_zero)
    u.start()
    u.join()
    if proc and u.exitcode != 0:
        raise cb_py.Failed("the child process exited with %s" % u.exitcode)
    seen = n
    want = 100 if proc else 0
    if seen != want:
        run.row(pt, "parent_sees", float(seen), "count", "error",
                "the child process's n = 0 showed in the parent (n = %d)" % seen if proc else
                "the thread's n = 0 did not show in the parent (n = %d)" % seen)
    else:
        run.row(pt, "parent_sees", float(seen), "count")


def measure(run, pt):
    mech = pt.workload
    if mech == "isolation":
        return isolation(run, pt)
    if MECHS.get(mech) != pt.executor:
        raise cb_py.Failed("no CPython run for %s on %s" % (pt.executor, mech))
    n = pt.tasks
    if not 8 <= n <= 16 << 20:
        raise cb_py.Failed("message size %d: expected 8 to 16777216 bytes" % n)
    min_s = run.param("py_min_ms", float) / 1e3
    if not min_s > 0:
        raise cb_py.Failed("--py-min-ms: expected more than 0")
    corrupt = run.param("fault_corrupt", int, 0)
    fault_die = run.param("fault_die", int, 0)
    pus = (pt.pu(0), pt.pu(1))
    ctx = multiprocessing.get_context("fork")
    bind(pus[0])
    manager = manager_on(ctx, pus[0]) if mech == "manager_list" else None
    pat = Pattern(n)
    vals, status, detail = (None, None, None), "ok", ""
    ch = None
    try:
        ch = make_channel(mech, ctx, pat, pus, fault_die, manager)
        # A fault test reaches message FAULT_MSG even when a busy machine
        # slowed the calibration to a message or two.
        least = FAULT_MSG + 2 if corrupt or fault_die else 4
        bw, rate, rt, bad = run_modes(ch, pat, min_s, corrupt, least)
        vals = (bw, rate, rt)
        if bad:
            status, detail = "error", bad
    except Broken as e:
        status, detail = e.status, e.detail
    finally:
        if ch is not None:
            try:
                ch.close()
            except Exception:
                pass
    for (metric, unit), v in zip(METRICS, vals):
        run.row(pt, metric, v if status == "ok" else None, unit, status, detail)


def metrics(pt):
    return [("parent_sees", "count")] if pt.workload == "isolation" else METRICS


def main():
    try:
        return cb_py.run_main(measure, metrics)
    finally:
        for m in MANAGERS.values():
            m.shutdown()


if __name__ == "__main__":
    sys.exit(main())
