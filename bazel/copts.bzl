"""Compiler flags and test macros shared by every package of the harness."""

load("@rules_cc//cc:defs.bzl", "cc_test")

# Our own code builds warning-free; third-party code (GoogleTest) does not get
# these flags.
CB_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-D_GNU_SOURCE",
    "-fno-strict-aliasing",
    # Keeps the code-generating flags in the binary (.GCC.command.line), so
    # that each run's .meta records them (compiler_flags).
    "-frecord-gcc-switches",
]

def cb_test(name, srcs = None, size = "small", deps = [], data = [], tags = [], **kwargs):
    """A GoogleTest binary for one `<name>.cc` beside the code it tests."""
    cc_test(
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

def cb_layer_tests(lib, sizes = {}, deps = {}, data = {}):
    """Every `*_test.cc` of the calling package as a test of the same name.

    Args:
      lib: the package's library, which every test links.
      sizes: test name -> size, for a test bigger than "small".
      deps: test name -> extra deps (other layers, test helpers).
      data: test name -> data files.
    """
    for f in native.glob(["*_test.cc"]):
        name = f[:-3]
        cb_test(
            name = name,
            size = sizes.get(name, "small"),
            data = data.get(name, []),
            deps = [lib] + deps.get(name, []),
        )

def cb_layer_files(name):
    """The package's sources and BUILD, for //lib:layering_test.

    Args:
      name: the filegroup's name; //lib:layering_test reads `:layer_files`.
    """
    native.filegroup(
        name = name,
        srcs = native.glob([
            "*.c",
            "*.cc",
            "*.h",
            "*.S",
        ]) + ["BUILD"],
        visibility = ["//lib:__pkg__"],
    )
