#!/usr/bin/env bash
# echo --connect HOST:PORT: the load alone against a server outside the run.
# Against `echo --serve epoll --port N` started here: every row ok, executor
# external, the address in .meta. Against bad servers: a closed port, an
# unresolvable host, one that closes at once, one that echoes wrong bytes,
# one that never answers (within --timeout), and one that passes the probe
# but closes under load: each says one line naming it on stderr, writes
# error (or, for the silent one, timeout) rows with the reason, exits 3, and
# ends in bounded time. Bad syntax is refused before anything runs (exit 2).
set -uo pipefail
bin="$1"
bad="$2"
T="$TEST_TMPDIR"
fail=0
say_fail() {
  echo "FAIL: $*"
  fail=1
}
run=(--quick --reps 1 --warmup 0 --no-plot --duration-ms 100 --connections 1,10)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done' EXIT

# Waits (up to 10 s) for the first line of a server's output; prints it.
first_line() { # file
  local i
  for i in $(seq 100); do
    [ -s "$1" ] && { head -1 "$1"; return 0; }
    sleep 0.1
  done
  return 1
}

# ---- 1. our own server, started as a user would, on a port of ours.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" --serve epoll --port "$port" >"$T/serve.out" 2>&1 &
pids+=($!)
line=$(first_line "$T/serve.out") || say_fail "1: the server did not start: $(cat "$T/serve.out")"
case "$line" in "listening on 127.0.0.1:$port "*) ;; *) say_fail "1: server says: $line" ;; esac
mkdir -p "$T/ok"
"$bin" "${run[@]}" --connect "127.0.0.1:$port" --out "$T/ok" >"$T/ok.out" 2>"$T/ok.err"
rc=$?
[ "$rc" -eq 0 ] || say_fail "1: exit $rc: $(tail -3 "$T/ok.err")"
notok=$(awk -F, 'NR > 1 && $2 == "external" && $11 != "ok" && $11 != "skipped"' "$T/ok/echo.csv" | head -3)
[ -z "$notok" ] || say_fail "1: rows not ok: $notok"
n=$(awk -F, '$2 == "external" && $8 == "req_per_s" && $11 == "ok" && $10 == "1/s"' "$T/ok/echo.csv" | wc -l)
[ "$n" -eq 2 ] || say_fail "1: $n ok req_per_s rows, want 2 (1 and 10 connections)"
[ "$(awk -F, 'NR > 1 && $2 != "external"' "$T/ok/echo.csv" | wc -l)" -eq 0 ] ||
  say_fail "1: rows of our own models in a --connect run"
grep -q "^connect=127.0.0.1:$port$" "$T/ok/echo.meta" || say_fail "1: meta lacks connect="
grep -q "^connect_address=127.0.0.1 port $port$" "$T/ok/echo.meta" || say_fail "1: meta lacks connect_address="
grep -q "The echo server at 127.0.0.1:$port" "$T/ok.out" || say_fail "1: no verdict for the server"
kill "${pids[0]}"
wait "${pids[0]}" 2>/dev/null

# Runs one bad case: target, the text (an extended regex) its line and rows
# must hold, and the status its rows must have.
bad_case() { # name target text status
  local d="$T/$1" t0 el rc lines
  mkdir -p "$d"
  t0=$(date +%s)
  "$bin" "${run[@]}" --timeout 3 --connect "$2" --out "$d" >"$d.out" 2>"$d.err"
  rc=$?
  el=$(($(date +%s) - t0))
  [ "$rc" -eq 3 ] || say_fail "$1: exit $rc, want 3: $(tail -2 "$d.err")"
  [ "$el" -le 20 ] || say_fail "$1: took $el s"
  lines=$(grep -cE "^echo: --connect $2: .*$3" "$d.err")
  [ "$lines" -eq 1 ] || say_fail "$1: $lines lines naming it on stderr, want 1: $(grep -v 'system:' "$d.err")"
  local rows
  rows=$(awk -F, -v s="$4" 'NR > 1 && $2 == "external" && $8 == "req_per_s" && $11 == s' "$d/echo.csv" | grep -cE -- "$3")
  [ "$rows" -eq 2 ] || say_fail "$1: $rows $4 rows naming '$3', want 2: $(head -3 "$d/echo.csv")"
  [ "$(awk -F, 'NR > 1 && $11 == "ok" && $8 == "req_per_s"' "$d/echo.csv" | wc -l)" -eq 0 ] ||
    say_fail "$1: a row is ok"
}

# ---- 2. the port of the server just stopped: nothing listens there.
bad_case refused "127.0.0.1:$port" "connection refused" error

# ---- 3. a name that does not resolve (.invalid never does, RFC 6761).
bad_case unresolvable "nosuch.invalid:7" "cannot resolve 'nosuch.invalid'" error

# ---- 4-7. servers that misbehave.
start_bad() { # mode: prints the port
  python3 "$bad" "$1" >"$T/$1.port" 2>&1 &
  pids+=($!)
  first_line "$T/$1.port"
}
p=$(start_bad close) || say_fail "close: no port"
bad_case close "127.0.0.1:$p" "the server (closed|reset) the connection after 0 of 64 bytes" error
p=$(start_bad wrong) || say_fail "wrong: no port"
bad_case wrong "127.0.0.1:$p" "the echo differs from what was sent at byte 0 of 64" error
p=$(start_bad silent) || say_fail "silent: no port"
bad_case silent "127.0.0.1:$p" "no echo from 127.0.0.1:$p within 3.0 s" error
p=$(start_bad close_after) || say_fail "close_after: no port"
bad_case close_after "127.0.0.1:$p" "connections closed by the server" error

# ---- 8. bad syntax and bad combinations: refused before anything runs.
for arg in "localhost" "localhost:" ":7" "localhost:0" "localhost:65536" "localhost:7x" "[::1:7"; do
  err=$("$bin" "${run[@]}" --connect "$arg" --out "$T" 2>&1 >/dev/null)
  rc=$?
  [ "$rc" -eq 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] ||
    say_fail "8: --connect '$arg': exit $rc: $err"
done
err=$("$bin" "${run[@]}" --connect 127.0.0.1:7 --serve epoll --out "$T" 2>&1 >/dev/null)
[ $? -eq 2 ] || say_fail "8: --connect with --serve: $err"
err=$("$bin" "${run[@]}" --connect 127.0.0.1:7 --executors epoll --out "$T" 2>&1 >/dev/null)
rc=$?
[ "$rc" -eq 2 ] && [ "$err" = "echo: --connect measures the server at 127.0.0.1:7 alone: leave out --executors epoll" ] ||
  say_fail "8: --connect with --executors epoll: exit $rc: $err"
err=$("$bin" "${run[@]}" --executors external --out "$T" 2>&1 >/dev/null | grep -v 'system:')
case "$err" in *"give the server with --connect"*) ;; *) say_fail "8: external without --connect: $err" ;; esac

[ "$fail" -eq 0 ] && echo "echo --connect: our server ok; refused, unresolvable, closed, wrong, silent, closed under load: one line, error rows, exit 3"
exit "$fail"
