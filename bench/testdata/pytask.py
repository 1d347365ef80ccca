"""Python tasks for bench:user_test (--py-task pytask:FUNCTION)."""


def square(i, scale=1):
    return i * i * scale


def raises(i):
    if i == 2:
        raise ValueError("task two refuses")
    return i


def check(i, v):
    # Used for every function of this module: only square's values pass.
    return v == i * i or v == i * i * 3
