"""Offline stand-in for rules_shell's sh_library: Bazel 4's native rule."""

sh_library = native.sh_library
