#!/usr/bin/env python3
"""CPython reference for the cpu_vs_io experiment (E1 and E2 of EXPERIMENTS.md).

The tutorials in seeds/ (003) time 4 threads against 4 processes in CPython:
a counting loop of 100,000,000 increments per task (processes 17.1 s, threads
30.3 s) and a random 1-3 s sleep per task (processes 3.2 s, threads 2.0 s).
This script runs the same tasks under CPython's executors and writes raw CSV
rows in the harness's format (lib/core/results.h, CB_RAW_COLUMNS), so the C
harness can put the interpreter's figures beside its own.

Executors (each row's `workers` column in brackets):
  py_serial        the tasks one after another in the main thread [1]; the
                   baseline for Python speedups
  py_thread        one threading.Thread per task, all started, then joined [W]
  py_process       one multiprocessing.Process per task ('fork') [W]
  py_thread_pool   concurrent.futures.ThreadPoolExecutor(W) [W]
  py_process_pool  concurrent.futures.ProcessPoolExecutor(W, 'fork') [W]
  py_asyncio       asyncio.gather of one coroutine per task [W]: io awaits
                   asyncio.sleep; cpu has no await point, so the loops run
                   one after another in the event loop

Workloads:
  cpu  `count = 0; for i in range(n): count += 1` (the tutorials' loop)
  io   time.sleep / asyncio.sleep of a seeded duration per task index:
         J = int(io_ns * jitter)                (float product, truncated)
         sleep(i) = io_ns - J + splitmix64(seed, i) % (2J + 1)   nanoseconds
       with io_ns = int(io_ms * 1e6); the C io workload (lib/wl/wl_io.c) sleeps
       the same durations for the same io_ns, jitter and seed (--show-sleeps
       prints them; the C bench uses seed 1, this script's default). The tutorials' random
       1-3 s is --io-ms 2000 --io-jitter 0.5.

Timing: wall_s is time.perf_counter() around start..join (first start() or
submit() to the last join() or result()). Creating the Thread / Process
objects, starting the pools' workers and the event loop stay outside it
(pools are warmed up with one round of no-op tasks first). Every task's
result is checked (a process checks its own and reports through its exit
status); a configuration with a failed task gets an empty value and status
`error` (or `crashed` when a process died of a signal). Configurations are
interleaved within each repetition; warm-up repetitions are not recorded.
The CSV is written atomically (a temp file beside it, then os.replace).

Exit status: 0 all ok, 2 bad arguments (one line on stderr), 3 rows written
but some configurations failed, 130 interrupted (completed rows written).

Two command lines. The harness's (bench/cpu_vs_io.c, through the shared
driver lib/core/python.c) is cb_py.py's protocol, chosen by --probe or
--point: --calibrate prints python_cpu_iters=N, the increments of a Python
cpu task as long as the C task here (--param cpu_task_s; 0: --param
cpu_iters as it is, the tutorials' count), and each --point
EXECUTOR/WORKLOAD/W/T/none/- is measured once with it, the sleeps from
--param io_ms, io_jitter (seed 1), into one wall_s row. The standalone one
below (--tasks, --executors, ...) runs whole repetitions itself; bench:work
drives it for --py-task.

Standard library only; Python 3.7 or later.
"""

import argparse
import asyncio
import concurrent.futures
import csv
import importlib
import json
import multiprocessing
import os
import re
import signal
import sys
import tempfile
import threading
import time

COLUMNS = [
    "experiment", "executor", "workload", "workers", "tasks", "pin", "rep",
    "metric", "value", "unit", "status", "detail",
]
EXECUTORS = [
    "py_serial", "py_thread", "py_process", "py_thread_pool",
    "py_process_pool", "py_asyncio",
]
POOLS = ("py_thread_pool", "py_process_pool")
WORKLOADS = ["cpu", "io", "py_task"]
# The user's function (--py-task MODULE:FUNCTION): called as
# FUNCTION(index, *args, **kwargs); its results are checked by the module's
# check(index, value) when it has one, else against an untimed serial pass.
USER = {"fn": None, "check": None, "args": (), "kwargs": {}, "expected": {}}


class UserTaskError(Exception):
    """--py-task cannot be used as given (one line, exit 2)."""


def load_user_task(spec, path, args_json):
    if not spec or ":" not in spec or spec.startswith(":") or spec.endswith(":"):
        raise UserTaskError("--py-task: bad value '%s': expected MODULE:FUNCTION" % spec)
    mod, name = spec.rsplit(":", 1)
    where = os.path.abspath(path or ".")
    if path is not None and not os.path.isdir(where):
        raise UserTaskError("--py-path: '%s' is not a directory" % path)
    sys.path.insert(0, where)
    try:
        m = importlib.import_module(mod)
    except Exception as e:
        raise UserTaskError("--py-task: cannot import module '%s' from %s: %s: %s" % (
            mod, where, type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
    fn = getattr(m, name, None)
    if not callable(fn):
        raise UserTaskError("--py-task: module '%s' has no function '%s'" % (mod, name))
    args, kwargs = (), {}
    if args_json is not None:
        try:
            v = json.loads(args_json)
        except ValueError as e:
            raise UserTaskError("--py-args: bad value '%s': not JSON (%s)" % (args_json, e))
        if isinstance(v, list):
            args = tuple(v)
        elif isinstance(v, dict):
            kwargs = v
        else:
            raise UserTaskError("--py-args: bad value '%s': expected a JSON list (positional "
                                "arguments) or object (keywords)" % args_json)
    check = getattr(m, "check", None)
    USER.update(fn=fn, check=check if callable(check) else None, args=args, kwargs=kwargs)


def user_call(index):
    return USER["fn"](index, *USER["args"], **USER["kwargs"])


def user_right(index, got):
    if USER["check"] is not None:
        return bool(USER["check"](index, got))
    return got == USER["expected"].get(index)
MASK64 = (1 << 64) - 1
# Bounds that keep every value meaningful (and the C side's uint64_t
# arithmetic clear of overflow: lib/wl/wl_io.c accepts io_ns <= 2^62).
MAX_TASKS = 1000000
MAX_COUNT = (1 << 63) - 1
MAX_IO_MS = float((1 << 62) // 1000000)


def splitmix64(seed, i):
    """SplitMix64 (Steele, Lea, Flood, OOPSLA 2014): output i of the stream
    seeded with seed; lib/wl/wl_io.c cb_wl_splitmix64 is the same function."""
    z = (seed + (i + 1) * 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def io_sleep_ns(io_ns, jitter, seed, index):
    """The io workload's sleep for task `index` (the rule in the docstring)."""
    j = int(float(io_ns) * jitter)
    if j == 0:
        return io_ns
    return io_ns - j + splitmix64(seed, index) % (2 * j + 1)


def io_ns_of(io_ms):
    """--io-ms to nanoseconds, truncated, as the C bench converts its own
    --io-ms ((uint64_t)(io_ms * 1e6))."""
    return int(io_ms * 1e6)


def cpu_task(n):
    count = 0
    for i in range(n):
        count += 1
    return count


# A task is a picklable tuple (workload, index, cpu_iters, io_ns, jitter,
# seed), so process pools can ship it to their workers.
def run_task(spec):
    workload, index, cpu_iters, io_ns, jitter, seed = spec
    if workload == "py_task":
        return user_call(index)
    if workload == "cpu":
        return cpu_task(cpu_iters)
    ns = io_sleep_ns(io_ns, jitter, seed, index)
    time.sleep(ns / 1e9)
    return ns


def expected(spec):
    workload, index, cpu_iters, io_ns, jitter, seed = spec
    if workload == "cpu":
        return cpu_iters
    return io_sleep_ns(io_ns, jitter, seed, index)


async def async_task(spec):
    workload, index, cpu_iters, io_ns, jitter, seed = spec
    if workload == "py_task":
        # A coroutine function is awaited (it may yield); a plain function
        # runs in the loop's thread, blocking it, as it would in asyncio.
        if asyncio.iscoroutinefunction(USER["fn"]):
            return await USER["fn"](index, *USER["args"], **USER["kwargs"])
        return user_call(index)
    if workload == "cpu":
        return cpu_task(cpu_iters)
    ns = io_sleep_ns(io_ns, jitter, seed, index)
    await asyncio.sleep(ns / 1e9)
    return ns


def noop(_):
    return 0


class TaskError(Exception):
    """A task failed; status is 'error' or 'crashed'."""

    def __init__(self, status, detail):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def check_results(specs, results):
    for spec, got in zip(specs, results):
        if isinstance(got, BaseException):
            raise TaskError("error", "task %d: %s: %s" % (spec[1], type(got).__name__, got))
        if spec[0] == "py_task":
            if not user_right(spec[1], got):
                raise TaskError("error", "task %d: result %.60r is wrong (%s)" % (
                    spec[1], got, "check() said so" if USER["check"] else
                    "the serial pass returned %.40r" % (USER["expected"].get(spec[1]),)))
        elif got != expected(spec):
            raise TaskError("error", "task %d: result %r, expected %r" % (spec[1], got, expected(spec)))


# Executors: each returns the timed wall seconds, raising TaskError when a
# task failed.

def guarded(spec):
    try:
        return run_task(spec)
    except Exception as e:  # reported as the task's result
        return e


def ex_serial(specs, workers):
    t0 = time.perf_counter()
    results = [guarded(s) for s in specs]
    t1 = time.perf_counter()
    check_results(specs, results)
    return t1 - t0


def ex_thread(specs, workers):
    results = [None] * len(specs)

    def body(i, spec):
        results[i] = guarded(spec)

    threads = [threading.Thread(target=body, args=(i, s)) for i, s in enumerate(specs)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t1 = time.perf_counter()
    check_results(specs, results)
    return t1 - t0


def process_main(spec):
    # The child checks its own result: 0 when right, 3 when wrong.
    got = run_task(spec)
    if spec[0] == "py_task":
        sys.exit(0 if user_right(spec[1], got) else 3)
    sys.exit(0 if got == expected(spec) else 3)


def ex_process(specs, workers):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=process_main, args=(s,)) for s in specs]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    t1 = time.perf_counter()
    for spec, p in zip(specs, procs):
        if p.exitcode < 0:
            try:
                name = signal.Signals(-p.exitcode).name
            except ValueError:
                name = "signal %d" % -p.exitcode
            raise TaskError("crashed", "task %d: %s" % (spec[1], name))
        if p.exitcode != 0:
            raise TaskError("error", "task %d: exit status %d" % (spec[1], p.exitcode))
    return t1 - t0


def warm_thread_pool(pool, workers):
    # W tasks that wait for each other force the pool to start all W threads
    # (an idle thread would otherwise be reused).
    barrier = threading.Barrier(workers)
    for f in [pool.submit(barrier.wait, 30) for _ in range(workers)]:
        f.result()


def run_pool(pool, specs):
    t0 = time.perf_counter()
    futures = [pool.submit(run_task, s) for s in specs]
    results = []
    for f in futures:
        try:
            results.append(f.result())
        except concurrent.futures.BrokenExecutor as e:
            raise TaskError("crashed", "process pool broken: %s" % e)
        except Exception as e:
            results.append(e)
    t1 = time.perf_counter()
    check_results(specs, results)
    return t1 - t0


def ex_thread_pool(specs, workers):
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        warm_thread_pool(pool, workers)
        return run_pool(pool, specs)


def ex_process_pool(specs, workers):
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        # With 'fork' the pool starts all W processes at the first submit.
        for f in [pool.submit(noop, i) for i in range(workers)]:
            f.result()
        return run_pool(pool, specs)


def ex_asyncio(specs, workers):
    loop = asyncio.new_event_loop()
    try:
        async def main():
            return await asyncio.gather(*(async_task(s) for s in specs), return_exceptions=True)

        t0 = time.perf_counter()
        results = loop.run_until_complete(main())
        t1 = time.perf_counter()
    finally:
        loop.close()
    check_results(specs, results)
    return t1 - t0


RUNNERS = {
    "py_serial": ex_serial,
    "py_thread": ex_thread,
    "py_process": ex_process,
    "py_thread_pool": ex_thread_pool,
    "py_process_pool": ex_process_pool,
    "py_asyncio": ex_asyncio,
}


def workers_column(executor, w, workers):
    """The harness's one rule, the same as for its C rows: W (--workers;
    the pools' own size, the first count for the others) for every
    executor, 1 for the serial reference."""
    if executor == "py_serial":
        return 1
    return w if w is not None else workers[0]


def calibrate(seconds):
    """Increments of cpu_task that take `seconds` in this interpreter: the
    loop is timed at a size that runs >= 0.2 s (best of 3), then scaled."""
    n = 10000
    while True:
        t0 = time.perf_counter()
        cpu_task(n)
        t = time.perf_counter() - t0
        if t >= 0.2:
            break
        n = n * 2 if t <= 0 else max(n * 2, int(n * 0.25 / t))
    best = t
    for _ in range(2):
        t0 = time.perf_counter()
        cpu_task(n)
        best = min(best, time.perf_counter() - t0)
    return max(1, int(n * seconds / best))


class Parser(argparse.ArgumentParser):
    """Bad arguments: one line on stderr and exit status 2."""

    def error(self, message):
        sys.stderr.write("%s: %s\n" % (self.prog, message.replace("\n", " ")))
        sys.exit(2)


def count_arg(lo, hi):
    def parse(s):
        if not re.fullmatch(r"[0-9]+", s):
            raise argparse.ArgumentTypeError("'%s' is not a whole number" % s)
        v = int(s)
        if v < lo or v > hi:
            raise argparse.ArgumentTypeError("'%s' is out of range (%d to %d)" % (s, lo, hi))
        return v
    return parse


DECIMAL = re.compile(r"([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?")


def decimal_arg(lo, hi, lo_open=False):
    """A plain decimal number (C's %g output included) in [lo, hi], or in
    (lo, hi] when lo_open."""
    def parse(s):
        if not DECIMAL.fullmatch(s):
            raise argparse.ArgumentTypeError("'%s' is not a number" % s)
        v = float(s)
        if v < lo or v > hi or (lo_open and v == lo):
            raise argparse.ArgumentTypeError("'%s' is out of range (%s%g to %g)" % (
                s, "more than " if lo_open else "", lo, hi))
        return v
    return parse


def names_arg(allowed, what):
    def parse(s):
        names = s.split(",")
        for n in names:
            if n not in allowed:
                raise argparse.ArgumentTypeError(
                    "unknown %s '%s' (allowed: %s)" % (what, n, ", ".join(allowed)))
        return names
    return parse


def workers_arg(s):
    one = count_arg(1, 4096)
    return [one(x) for x in s.split(",")]


def parse_args(argv):
    p = Parser(prog="python_reference.py",
               description="CPython reference rows for the cpu_vs_io experiment.")
    p.add_argument("--experiment", default="cpu_vs_io",
                   help="the experiment column (default cpu_vs_io)")
    p.add_argument("--executors", type=names_arg(EXECUTORS, "executor"), default=EXECUTORS,
                   help="comma list of: " + ", ".join(EXECUTORS) + " (default: all)")
    p.add_argument("--workloads", type=names_arg(WORKLOADS, "workload"), default=["cpu", "io"],
                   help="comma list of: cpu, io (default: both)")
    p.add_argument("--tasks", type=count_arg(1, MAX_TASKS), default=4,
                   help="tasks per configuration (default 4, as the tutorials)")
    p.add_argument("--cpu-iters", type=count_arg(0, MAX_COUNT), default=100000000,
                   help="cpu: increments per task (default 100000000, as the tutorials)")
    p.add_argument("--io-ms", type=decimal_arg(0, MAX_IO_MS), default=2000,
                   help="io: nominal sleep per task in ms, io_ns = int(io_ms * 1e6) "
                        "(default 2000)")
    p.add_argument("--io-jitter", type=decimal_arg(0, 1), default=0.5,
                   help="io: sleeps spread over io_ms * (1 +- jitter) (default 0.5: 1-3 s)")
    p.add_argument("--seed", type=count_arg(0, MASK64), default=1,
                   help="seed of the io jitter (default 1)")
    p.add_argument("--workers", type=workers_arg, default=None,
                   help="comma list of pool sizes (default: the PUs this process may use)")
    p.add_argument("--reps", type=count_arg(1, 1000000), default=5,
                   help="measured repetitions (default 5)")
    p.add_argument("--warmup", type=count_arg(0, 1000000), default=1,
                   help="unmeasured warm-up repetitions (default 1)")
    p.add_argument("--out", default=None,
                   help="raw CSV file to write (atomically); default: standard output")
    p.add_argument("--calibrate", type=decimal_arg(0, 1e6, lo_open=True), default=None,
                   metavar="SECONDS",
                   help="print how many cpu increments take SECONDS here, and exit")
    p.add_argument("--show-sleeps", action="store_true",
                   help="print the io sleep of each task index in ns, and exit")
    p.add_argument("--py-task", default=None, metavar="MODULE:FUNCTION",
                   help="workload py_task: FUNCTION(index, *args) of MODULE as each task")
    p.add_argument("--py-path", default=None, metavar="DIR",
                   help="where MODULE is imported from (prepended to sys.path; default .)")
    p.add_argument("--py-args", default=None, metavar="JSON",
                   help="py_task's extra arguments: a JSON list or object")
    p.add_argument("--check-py-task", action="store_true",
                   help="import --py-task's module, find the function, parse --py-args, and exit")
    a = p.parse_args(argv)
    if a.workers is None:
        a.workers = [len(os.sched_getaffinity(0))]
    if a.out is not None:
        d = os.path.dirname(os.path.abspath(a.out))
        if os.path.isdir(a.out):
            p.error("--out '%s' is a directory; give a file name" % a.out)
        if not os.path.isdir(d) or not os.access(d, os.W_OK | os.X_OK):
            p.error("--out '%s': directory '%s' does not exist or is not writable" % (a.out, d))
    return a


def fmt(v):
    return "" if v is None else repr(v)


def write_csv(rows, out):
    if out is None:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(COLUMNS)
        w.writerows(rows)
        sys.stdout.flush()
        return
    d = os.path.dirname(os.path.abspath(out))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(out) + ".", suffix=".tmp", dir=d)
    try:
        # mkstemp makes the file 0600; give it the mode a plain open would.
        mask = os.umask(0)
        os.umask(mask)
        os.fchmod(fd, 0o666 & ~mask)
        with os.fdopen(fd, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(COLUMNS)
            w.writerows(rows)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def configurations(a):
    for wl in a.workloads:
        for ex in a.executors:
            for w in (a.workers if ex in POOLS else [None]):
                yield wl, ex, w


def user_reference(a):
    """Without a check() in the module, the expected values come from one
    untimed serial pass; a task that raises there fails every py_task row."""
    if USER["check"] is not None or "py_task" not in a.workloads:
        return None
    for i in range(a.tasks):
        try:
            USER["expected"][i] = user_call(i)
        except Exception as e:
            return "the serial reference pass: task %d raised %s: %s" % (i, type(e).__name__, e)
    return None


def run(a):
    io_ns = io_ns_of(a.io_ms)
    configs = list(configurations(a))
    rows = []
    failed = False
    ref_error = user_reference(a)
    try:
        for rep in range(a.warmup + a.reps):
            measured = rep >= a.warmup
            for wl, ex, w in configs:
                specs = [(wl, i, a.cpu_iters, io_ns, a.io_jitter, a.seed) for i in range(a.tasks)]
                value, status, detail = None, "ok", ""
                try:
                    if wl == "py_task" and ref_error:
                        raise TaskError("error", ref_error)
                    value = RUNNERS[ex](specs, w)
                except TaskError as e:
                    status, detail = e.status, e.detail
                except Exception as e:  # the harness's own failure: keep the row
                    status, detail = "error", "%s: %s" % (type(e).__name__, e)
                label = "%s %s workers=%s %s" % (
                    ex, wl, workers_column(ex, w, a.workers),
                    "rep %d" % (rep - a.warmup) if measured else "warm-up")
                sys.stderr.write("%-50s %s\n" % (
                    label, "%.6f s" % value if value is not None else status + " " + detail))
                if not measured:
                    continue
                failed = failed or status != "ok"
                rows.append([a.experiment, ex, wl, workers_column(ex, w, a.workers), a.tasks,
                             "none", rep - a.warmup, "wall_s",
                             fmt(value if status == "ok" else None), "s", status, detail])
    except KeyboardInterrupt:
        write_csv(rows, a.out)
        sys.stderr.write("interrupted: %d rows written\n" % len(rows))
        return 130
    write_csv(rows, a.out)
    return 3 if failed else 0


# ---- the harness's protocol (cb_py.py) ----

def protocol_calibrate(run, points):
    """python_cpu_iters: as many increments as take one C cpu task here."""
    secs = run.param("cpu_task_s")
    if secs <= 0:  # --tutorial: the tutorials' own count, as the C task's
        return {"python_cpu_iters": run.param("cpu_iters", int)}
    return {"python_cpu_iters": calibrate(secs)}


def protocol_measure(run, pt):
    if pt.executor not in RUNNERS or pt.workload not in ("cpu", "io"):
        raise cb_py.Failed("no CPython run for %s on %s" % (pt.executor, pt.workload))
    if pt.tasks < 1 or pt.tasks > MAX_TASKS:
        raise cb_py.Failed("tasks %d out of range (1 to %d)" % (pt.tasks, MAX_TASKS))
    io_ms, jitter = run.param("io_ms"), run.param("io_jitter")
    specs = [(pt.workload, i, run.param("python_cpu_iters", int), io_ns_of(io_ms), jitter, 1)
             for i in range(pt.tasks)]
    value, status, detail = None, "ok", ""
    try:
        value = RUNNERS[pt.executor](specs, pt.workers)
    except TaskError as e:
        status, detail = e.status, e.detail
    sys.stderr.write("%-50s %s\n" % (
        "%s %s workers=%d rep %d" % (pt.executor, pt.workload, pt.workers, run.args.rep),
        "%.6f s" % value if value is not None else status + " " + detail))
    run.row(pt, "wall_s", value if status == "ok" else None, "s", status, detail)


def protocol_metrics(pt):
    return [("wall_s", "s")]


def main(argv):
    if "--probe" in argv or "--point" in argv:
        global cb_py
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import cb_py  # the standalone command line does without it
        return cb_py.run_main(protocol_measure, protocol_metrics, argv=argv,
                              calibrate=protocol_calibrate)
    a = parse_args(argv)
    if a.py_task is not None:
        try:
            load_user_task(a.py_task, a.py_path, a.py_args)
        except UserTaskError as e:
            sys.stderr.write("%s\n" % e)
            return 2
    elif a.check_py_task or "py_task" in a.workloads:
        sys.stderr.write("--py-task MODULE:FUNCTION is needed for workload py_task\n")
        return 2
    if a.check_py_task:
        return 0
    if a.calibrate is not None:
        print(calibrate(a.calibrate))
        return 0
    if a.show_sleeps:
        for i in range(a.tasks):
            print(io_sleep_ns(io_ns_of(a.io_ms), a.io_jitter, a.seed, i))
        return 0
    return run(a)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
