#!/usr/bin/env bash
# Installs what the harness needs on Debian 12 / Ubuntu, and only what is
# missing: Bazel 4 (bazel-bootstrap), hwloc, jansson (the exports' JSON),
# GoogleTest sources, gnuplot, python3 with numpy and scipy (Google
# Benchmark's compare.py) and yaml (the workflow's test), buildifier (the
# BUILD files' format and lint, from npm's @bazel/buildifier, which ships the
# binaries in its tarball; npm comes from Debian when it is not already
# there), and the libraries of the peer executors, echo's libuv server and
# switch's fcontext (oneTBB, GLib, libuv, Boost.Context; OpenMP comes with
# gcc). Idempotent: a second run installs nothing and prints one line.
set -euo pipefail

# The version .ci/run checks the BUILD files with (lint warnings differ
# between versions): change it here, then run scripts/buildifier.sh --fix.
buildifier_version=8.2.1

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
  # scripts:workflow_test parses the GitHub workflow.
  [python3-yaml]=/usr/lib/python3/dist-packages/yaml/__init__.py
  # The CPython rows that run greenlet switches and gevent servers (switch,
  # echo); the harness picks Debian's python3 when another on PATH lacks them.
  [python3-greenlet]=/usr/lib/python3/dist-packages/greenlet/__init__.py
  [python3-gevent]=/usr/lib/python3/dist-packages/gevent/__init__.py
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
have_buildifier() {
  command -v buildifier >/dev/null 2>&1 &&
    buildifier --version 2>/dev/null | grep -Eq "^buildifier version: ${buildifier_version//./\\.}( |$)"
}
# npm only to install buildifier, from wherever npm came (Debian's, or one
# already on PATH).
if ! have_buildifier && ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi
if [ ${#missing[@]} -eq 0 ] && have_buildifier; then
  echo "setup: everything is installed"
  exit 0
fi

root=1 sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    root=0
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: missing ${missing[*]}, and this is not Debian or Ubuntu (no apt-get): install them by hand" >&2
    exit 1
  fi
  if [ "$root" -eq 0 ]; then
    echo "setup: missing ${missing[*]}, and installing needs root: run 'sudo apt-get install ${missing[*]}' or rerun this as root" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! have_buildifier; then
  # For everyone in /usr/local (as root or through sudo), else for this user
  # in ~/.local, which needs no root.
  if [ "$root" -eq 1 ]; then prefix=/usr/local; else prefix="$HOME/.local" sudo=""; fi
  echo "setup: installing buildifier $buildifier_version (npm @bazel/buildifier) into $prefix"
  $sudo npm install --global --prefix "$prefix" --no-audit --no-fund --loglevel=error \
    "@bazel/buildifier@$buildifier_version" >/dev/null
  if ! have_buildifier; then
    echo "setup: buildifier $buildifier_version is in $prefix/bin, but the buildifier on PATH is" \
      "$(command -v buildifier || echo 'none'): put $prefix/bin first on PATH" >&2
    exit 1
  fi
fi
echo "setup: done"
