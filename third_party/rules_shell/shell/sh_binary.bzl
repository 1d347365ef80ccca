"""Offline stand-in for rules_shell's sh_binary: Bazel 4's native rule."""

sh_binary = native.sh_binary
