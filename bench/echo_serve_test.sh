#!/usr/bin/env bash
# echo --serve against the real binary: with --port 0 (and without --port)
# every server model listens on a port the kernel picks, and the line it
# prints names that port, which then echoes; an explicit free port is taken
# as given; a port in use, one out of range, and --port without --serve are
# refused with exit 2 and one line; SIGTERM stops the server with exit 0.
set -uo pipefail
fail=0
bin="$1"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
mkdir -p "$tmp/out"
pid=""
trap '[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null' EXIT

# Starts `echo --serve ARGS...` in the background and waits (up to 10 s) for
# its "listening on 127.0.0.1:PORT" line; sets pid and port.
serve() {
  local out="$tmp/serve.out"
  : >"$out"
  "$bin" --serve "$@" >"$out" 2>"$tmp/serve.err" &
  pid=$!
  port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\) .*/\1/p' "$out")
    [ -n "$port" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL: --serve $* printed no 'listening on' line: $(cat "$out" "$tmp/serve.err")"
  fail=1
  return 1
}

# SIGTERM, then exit 0 and the "stopped" line.
stop() {
  kill -TERM "$pid"
  wait "$pid"
  local rc=$?
  pid=""
  [ "$rc" -eq 0 ] || { echo "FAIL: $1: exit $rc after SIGTERM: $(cat "$tmp/serve.err")"; fail=1; }
  grep -q 'stopped' "$tmp/serve.err" || { echo "FAIL: $1: no 'stopped' line: $(cat "$tmp/serve.err")"; fail=1; }
}

# One line to 127.0.0.1:$port and back.
echoes() {
  local want="$1" got=""
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf '%s\n' "$want" >&3
  IFS= read -r -t 5 got <&3
  exec 3<&-
  [ "$got" = "$want" ]
}

models=$("$bin" --list | sed -n '/^executors:/,/^$/ s/^  \([a-z_]*\) .*/\1/p' | grep -vx external | grep -v '^py_') # external: --connect's rows, no server; py_*: CPython servers (scripts/python_echo.py --serve)
[ "$(printf '%s\n' "$models" | wc -w)" -ge 6 ] || { echo "FAIL: --list names too few models: $models"; exit 1; }
for m in $models; do
  serve "$m" --port 0 --workers 2 || continue
  if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
    echo "FAIL: $m --port 0: listening on port $port"; fail=1
  elif ! echoes "hello $m"; then
    echo "FAIL: $m --port 0: port $port does not echo"; fail=1
  fi
  stop "$m --port 0"
done

# Without --port: the same (the default is 0).
serve epoll && { echoes "no port" || { echo "FAIL: epoll without --port: no echo"; fail=1; }; stop "epoll"; }

# A free port given: the server listens on exactly that one. The kernel's
# pick of a moment ago is free again once that server stopped.
if serve thread --port 0; then
  free=$port
  stop "thread --port 0"
  if serve thread --port "$free"; then
    [ "$port" = "$free" ] || { echo "FAIL: --port $free: listening on $port"; fail=1; }
    echoes "given" || { echo "FAIL: --port $free: no echo"; fail=1; }
    stop "thread --port $free"
  fi
fi

check_refused() { # text-to-find, args...
  local want="$1" err rc
  shift
  err=$(timeout 10 "$bin" --out "$tmp/out" "$@" 2>&1 >/dev/null)
  rc=$?
  if [ "$rc" -ne 2 ]; then echo "FAIL: $* -> exit $rc, want 2 ($err)"; fail=1; return; fi
  if [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ]; then echo "FAIL: $* -> not one line: $err"; fail=1; fi
  case "$err" in *"$want"*) ;; *) echo "FAIL: $* -> message does not name '$want': $err"; fail=1 ;; esac
}

# A port in use, for a plain model and for hybrid (which must not join the
# first server's SO_REUSEPORT group).
if serve epoll --port 0; then
  check_refused "port $port is already in use" --serve thread --port "$port"
  check_refused "port $port is already in use" --serve hybrid --port "$port"
  stop "epoll --port 0, kept while the others were refused"
fi
check_refused "'65536'" --serve epoll --port 65536
check_refused "'-1'" --serve epoll --port -1
check_refused "only with --serve" --port 0
check_refused "only with --serve" --port 8080

[ "$fail" -eq 0 ] && echo "echo --serve: every model on the kernel's port, a given port, refusals"
exit "$fail"
