#!/usr/bin/env bash
# buildifier over every BUILD, *.BUILD, .bzl and WORKSPACE file of the tree
# (tracked or new, not ignored): fails when one is not formatted
# (--mode=check, with the diff it wants) or has a lint warning (--lint=warn,
# buildifier's default warnings). .ci/run runs it after set-up, which
# installs the pinned buildifier (scripts/setup.sh).
#   buildifier.sh          check (exit 0 clean, 4 a diff or a warning)
#   buildifier.sh --fix    format the files and apply the lint fixes it can
set -uo pipefail
cd "$(dirname "$0")/.."
command -v buildifier >/dev/null || { echo "buildifier: not on PATH: run scripts/setup.sh" >&2; exit 1; }
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- \
  ':(glob)**/BUILD' ':(glob)**/BUILD.bazel' ':(glob)**/*.BUILD' ':(glob)**/*.bzl' \
  ':(glob)**/WORKSPACE' ':(glob)**/WORKSPACE.bazel' ':(glob)**/MODULE.bazel' | sort -u)
[ ${#files[@]} -gt 0 ] || { echo "buildifier: no BUILD files found (not a git checkout?)" >&2; exit 1; }
version=$(buildifier --version | awk '/^buildifier version:/ { print $3 }')

if [ "${1:-}" = "--fix" ]; then
  buildifier --lint=fix "${files[@]}"
  exit $?
fi
[ $# -eq 0 ] || { echo "usage: scripts/buildifier.sh [--fix]" >&2; exit 2; }

echo "buildifier $version: ${#files[@]} files"
status=0
if ! buildifier --mode=check "${files[@]}" >/dev/null 2>&1; then
  buildifier --mode=diff --diff_command="diff -u" "${files[@]}"
  echo "buildifier: not formatted (the diff above): run scripts/buildifier.sh --fix"
  status=4
fi
# Lint warnings only: the files to reformat were named above.
out=$(buildifier --mode=check --lint=warn "${files[@]}" 2>&1)
rc=$?
lint=$(printf '%s\n' "$out" | grep -v ' # reformat$')
if [ -n "$lint" ]; then
  printf '%s\n' "$lint"
  echo "buildifier: lint warnings (above): fix them (scripts/buildifier.sh --fix does what it can)"
  status=4
elif [ "$rc" -ne 0 ] && [ "$status" -eq 0 ]; then
  status=$rc
fi
[ "$status" -eq 0 ] && echo "buildifier: formatted, no lint warnings"
exit "$status"
