"""What every CPython side script of an experiment shares (scripts/python_E.py):
the command line the harness's shared driver (lib/core/python.c) gives it, the
rows it writes, pinning, and the probe.

The protocol, from the C side:

  python3 scripts/python_E.py --probe
      prints one line, "VERSION<TAB>MISSING": the interpreter's version
      (3.11.2) and a comma list of the optional modules of the script
      (OPTIONAL = [...] passed to main()) that do not import here (empty
      when all do); exit 0. The harness takes the first interpreter whose
      probe answers, preferring one with nothing missing.

  python3 scripts/python_E.py --experiment E --rep N --out CSV
          [--quick] [--timeout S] [--param KEY=VALUE ...]
          --point EXECUTOR/WORKLOAD/WORKERS/TASKS/PIN/PUS ...
      measures each point once and writes its rows (the harness's raw CSV,
      columns COLUMNS) to CSV, atomically. PUS is the point's pin plan, one
      OS PU index per worker ("0,1,0,1"), or "-" when unpinned. --param
      carries every flag of the run (its meta key and value: hold_us=2000).
      A row's key (executor .. pin) must be the point's; its metrics those the
      C declaration lists for the point (more are allowed: facts, counts).
      Exit 0: all rows ok; 3: rows written, some failed (they say why); 2: bad
      arguments (one line on stderr).

  python3 scripts/python_E.py --calibrate --experiment E [--quick]
          [--timeout S] [--param KEY=VALUE ...] --point ...
      only for a declaration with a calibrate hook (cb_python_def_t), once a
      run before its first repetition: prints KEY=VALUE lines (the figures
      that size the points here: python_cpu_iters=178991), exit 0; the
      harness records them in meta and gives them to every repetition as
      --param KEY=VALUE. A failure: one line on stderr, exit 1.

A point that cannot run here (a module missing, say) gets rows with status
skipped and the reason; one that fails gets error and the reason; the run
goes on with the next point.
"""

import argparse
import concurrent.futures
import csv
import multiprocessing
import os
import sys
import tempfile
import threading
import time

COLUMNS = [
    "experiment", "executor", "workload", "workers", "tasks", "pin", "rep",
    "metric", "value", "unit", "status", "detail",
]


class Skip(Exception):
    """The point cannot run here (a module missing): its rows are skipped."""


class Failed(Exception):
    """The point ran and was wrong: its rows are error, with the reason."""


class Point:
    def __init__(self, spec):
        parts = spec.split("/")
        if len(parts) != 6:
            raise ValueError("--point: bad value '%s': expected "
                             "EXECUTOR/WORKLOAD/WORKERS/TASKS/PIN/PUS" % spec)
        self.executor, self.workload, w, t, self.pin, pus = parts
        try:
            self.workers, self.tasks = int(w), int(t)
            self.pus = [] if pus == "-" else [int(p) for p in pus.split(",")]
        except ValueError:
            raise ValueError("--point: bad value '%s': WORKERS, TASKS and PUS must be "
                             "integers" % spec)
        if self.workers < 1 or self.tasks < 0:
            raise ValueError("--point: bad value '%s': WORKERS must be 1 or more, TASKS 0 "
                             "or more" % spec)

    def pu(self, i):
        """The PU of worker i, or None when unpinned."""
        return self.pus[i % len(self.pus)] if self.pus else None

    def bind(self, i):
        """Binds the calling thread (or process) to worker i's PU."""
        pu = self.pu(i)
        if pu is not None:
            os.sched_setaffinity(0, {pu})


class Run:
    def __init__(self, args, params):
        self.args, self.params, self.rows = args, params, []
        self.failed = False

    def param(self, key, conv=float, default=None):
        v = self.params.get(key)
        if v is None:
            if default is None:
                raise Failed("the harness gave no --param %s" % key)
            return default
        return conv(v)

    def row(self, pt, metric, value, unit, status="ok", detail=""):
        if status != "ok":
            self.failed = True
        self.rows.append([
            self.args.experiment, pt.executor, pt.workload, pt.workers, pt.tasks, pt.pin,
            self.args.rep, metric,
            "" if value is None else ("%.17g" % value if isinstance(value, float) else value),
            unit, status, detail.replace("\n", " ")[:400],
        ])

    def fail(self, pt, metrics, status, detail):
        for m, u in metrics:
            self.row(pt, m, None, u, status, detail)


# ---- warm, pinned pools (every script that times a pool starts it so) ----


def bind_from_counter(counter, pus):
    """A process pool worker's initializer: the next slot of a shared
    counter, bound to that slot's PU (pus empty: unpinned)."""
    with counter.get_lock():
        i = counter.value
        counter.value += 1
    if pus:
        os.sched_setaffinity(0, {pus[i % len(pus)]})


def _pid(_):
    time.sleep(0.01)
    return os.getpid()


def thread_pool(pt):
    """A ThreadPoolExecutor of pt.workers threads, worker i bound to the
    point's PU i, every thread started before it returns (so none starts
    inside a timed region)."""
    w = pt.workers
    lock, slots = threading.Lock(), []

    def init():
        with lock:
            i = len(slots)
            slots.append(i)
        pt.bind(i)

    ex = concurrent.futures.ThreadPoolExecutor(w, initializer=init)
    bar = threading.Barrier(w)
    for f in [ex.submit(bar.wait) for _ in range(w)]:
        f.result(timeout=60)
    return ex


def process_pool(pt, mp_pool=False):
    """A ProcessPoolExecutor (mp_pool: a multiprocessing.Pool) of
    pt.workers forked processes bound round robin to the point's PUs, every
    worker started (pt.workers distinct pids answered) before it returns;
    Failed when they do not."""
    w = pt.workers
    ctx = multiprocessing.get_context("fork")
    counter = ctx.Value("i", 0)
    if mp_pool:
        ex = ctx.Pool(w, initializer=bind_from_counter, initargs=(counter, pt.pus))
    else:
        ex = concurrent.futures.ProcessPoolExecutor(
            w, mp_context=ctx, initializer=bind_from_counter, initargs=(counter, pt.pus))
    pids, tries = set(), 0
    while len(pids) < w and tries < 50:
        pids.update(ex.map(_pid, range(2 * w)))
        tries += 1
    if len(pids) < w:
        if mp_pool:
            ex.terminate()
            ex.join()
        else:
            ex.shutdown()
        raise Failed("the %s started %d of %d workers"
                     % ("pool" if mp_pool else "process pool", len(pids), w))
    return ex


def write_csv(rows, out):
    d = os.path.dirname(os.path.abspath(out))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".cb_py_")
    try:
        with os.fdopen(fd, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(COLUMNS)
            w.writerows(rows)
        os.replace(tmp, out)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def probe(optional):
    missing = []
    for m in optional:
        try:
            __import__(m)
        except Exception:
            missing.append(m)
    v = sys.version_info
    print("%d.%d.%d\t%s" % (v[0], v[1], v[2], ",".join(missing)))
    return 0


def parse(argv):
    p = argparse.ArgumentParser(add_help=True)
    p.add_argument("--probe", action="store_true")
    p.add_argument("--calibrate", action="store_true")
    p.add_argument("--experiment", default="")
    p.add_argument("--rep", type=int, default=0)
    p.add_argument("--out", default=None)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--timeout", type=float, default=0)
    p.add_argument("--param", action="append", default=[])
    p.add_argument("--point", action="append", default=[])
    return p.parse_args(argv)


def run_main(measure, metrics, optional=(), argv=None, calibrate=None):
    """The script's main: measure(run, pt) adds the point's rows (run.row);
    metrics(pt) is [(metric, unit), ...] for the rows of a point that raised
    Skip or Failed or any other exception; calibrate(run, points), for
    --calibrate, returns {key: value} (printed as KEY=VALUE lines). Returns
    the exit status."""
    try:
        a = parse(sys.argv[1:] if argv is None else argv)
        if a.probe:
            return probe(optional)
        if a.calibrate and calibrate is None:
            raise ValueError("--calibrate: this script has no calibration")
        if not a.experiment or (not a.out and not a.calibrate):
            raise ValueError("--experiment and --out are required (or --probe)")
        params = {}
        for kv in a.param:
            if "=" not in kv:
                raise ValueError("--param: bad value '%s': expected KEY=VALUE" % kv)
            k, v = kv.split("=", 1)
            params[k] = v
        points = [Point(s) for s in a.point]
    except ValueError as e:
        print(os.path.basename(sys.argv[0]) + ": " + str(e), file=sys.stderr)
        return 2
    run = Run(a, params)
    if a.calibrate:
        try:
            figures = calibrate(run, points)
        except Exception as e:
            msg = str(e) if isinstance(e, Failed) else "%s: %s" % (type(e).__name__, e)
            print("%s --calibrate: %s" % (os.path.basename(sys.argv[0]), msg.replace("\n", " ")),
                  file=sys.stderr)
            return 1
        for k, v in figures.items():
            print("%s=%s" % (k, v))
        return 0
    home = os.sched_getaffinity(0)
    for pt in points:
        n0 = len(run.rows)
        try:
            measure(run, pt)
        except Skip as e:
            del run.rows[n0:]
            run.fail(pt, metrics(pt), "skipped", str(e))
        except Failed as e:
            del run.rows[n0:]
            run.fail(pt, metrics(pt), "error", str(e))
        except Exception as e:  # one point's bug is that point's error row
            del run.rows[n0:]
            run.fail(pt, metrics(pt), "error", "%s: %s" % (type(e).__name__, e))
        # every thread a point started has ended before the next one
        for t in threading.enumerate():
            if t is not threading.main_thread() and not t.daemon:
                t.join(5)
        os.sched_setaffinity(0, home)
    write_csv(run.rows, a.out)
    return 3 if run.failed else 0
