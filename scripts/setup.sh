#!/usr/bin/env bash
# Installs what the harness needs on Debian 12 / Ubuntu, and only what is
# missing: Bazel 4 (bazel-bootstrap), hwloc, jansson (the exports' JSON),
# GoogleTest sources, gnuplot, python3 (with numpy and scipy), and the
# libraries of the peer executors, echo's libuv server and switch's
# fcontext (oneTBB, GLib, libuv, Boost.Context; OpenMP comes with gcc). Idempotent: a second run installs nothing and prints one line.
set -euo pipefail

# package -> a file that shows it is installed (a glob: the first match
# counts)
declare -A need=(
  [bazel-bootstrap]=/usr/bin/bazel
  [libhwloc-dev]=/usr/include/hwloc.h
  [libjansson-dev]=/usr/include/jansson.h
  [hwloc]=/usr/bin/lstopo-no-graphics
  [googletest]=/usr/src/googletest/googletest/src/gtest.cc
  [gnuplot-nox]=/usr/bin/gnuplot
  [python3]=/usr/bin/python3
  # The examples/ workloads: zlib and SQLite.
  [zlib1g-dev]=/usr/include/zlib.h
  [libsqlite3-dev]=/usr/include/sqlite3.h
  # Google Benchmark's tools/compare.py (third_party/gbench_compare), which
  # bench:export_test runs on the gbench export, needs numpy and scipy.
  [python3-numpy]=/usr/lib/python3/dist-packages/numpy/__init__.py
  [python3-scipy]=/usr/lib/python3/dist-packages/scipy/__init__.py
  [gcc]=/usr/bin/gcc
  [g++]=/usr/bin/g++
  # The library executors (lib/exec: tbb, gthreadpool, uv_pool; openmp is
  # gcc's libgomp), echo's libuv server and switch's fcontext.
  [libtbb-dev]=/usr/include/oneapi/tbb/task_group.h
  [libglib2.0-dev]=/usr/include/glib-2.0/glib.h
  [libuv1-dev]=/usr/include/uv.h
  [libboost-context-dev]='/usr/lib/*/libboost_context.so'
)
missing=()
for pkg in "${!need[@]}"; do
  compgen -G "${need[$pkg]}" >/dev/null || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: everything is installed"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: missing ${missing[*]}, and this is not Debian or Ubuntu (no apt-get): install them by hand" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "setup: missing ${missing[*]}, and installing needs root: run 'sudo apt-get install ${missing[*]}' or rerun this as root" >&2
    exit 1
  fi
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
