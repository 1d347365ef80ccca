"""A task whose results differ from run to run (no check(): compared with
the serial pass)."""
import itertools

_calls = itertools.count()


def drifting(i):
    return i + next(_calls)
