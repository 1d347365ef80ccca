"""Compiler flags and test macros shared by every package of the harness."""

# Our own code builds warning-free; third-party code (GoogleTest) does not get
# these flags.
CB_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-D_GNU_SOURCE",
    "-fno-strict-aliasing",
]

def cb_test(name, srcs = None, size = "small", deps = [], data = [], tags = [], **kwargs):
    """A GoogleTest binary for one `<name>.cc` beside the code it tests."""
    native.cc_test(
        name = name,
        srcs = srcs or [name + ".cc"],
        size = size,
        copts = CB_COPTS,
        data = data,
        tags = tags,
        deps = deps + ["@googletest//:gtest_main"],
        linkstatic = True,
        **kwargs
    )
