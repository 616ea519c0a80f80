#!/usr/bin/env bash
# tests/cli/nats_script_test.sh SOURCE_DIR
# scripts/nats.sh (one development node): start prints the URL once
# /healthz answers, a second start reuses the running server, status prints
# the URL, stop stops it (the pid is gone) and status then exits 1; it binds
# 127.0.0.1 only. Free loopback ports, a temp dir; the server is stopped at
# exit whatever happens.
set -u
src=$1
script=$src/scripts/nats.sh
failures=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then
    echo "ok   $what"
  else
    echo "FAIL $what"
    failures=$((failures + 1))
  fi
}
tmp=$(mktemp -d)
dir=$tmp/nats
cleanup() {
  "$script" stop --dir "$dir" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

read -r port http_port < <(python3 -c '
import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')

check "--help shows the usage" sh -c "'$script' --help | grep -q 'scripts/nats.sh start --cluster'"
url=$("$script" start --dir "$dir" --port "$port" --http-port "$http_port" 2>"$tmp/err")
check "start prints the URL (got '$url')" test "$url" = "nats://127.0.0.1:$port"
check "... once /healthz answers" sh -c "curl -s http://127.0.0.1:$http_port/healthz | grep -q '\"status\": *\"ok\"'"
check "... with JetStream on" sh -c "curl -s http://127.0.0.1:$http_port/jsz | grep -q '\"config\"'"
check "... bound to 127.0.0.1 only" grep -q "^listen: 127.0.0.1:$port$" "$dir/nats-server.conf"
pid=$(cat "$dir/node.pid" 2>/dev/null)
again=$("$script" start --dir "$dir" --port "$port" --http-port "$http_port" 2>&1)
check "a second start reuses it" test "$again" = "nats://127.0.0.1:$port" -a "$(cat "$dir/node.pid")" = "$pid"
check "status prints the URL" test "$("$script" status --dir "$dir")" = "nats://127.0.0.1:$port"
check "unknown arguments are refused (exit 2)" sh -c "'$script' start --bogus >/dev/null 2>&1; test \$? -eq 2"
"$script" stop --dir "$dir" >/dev/null
check "stop ends the server" sh -c "! kill -0 $pid 2>/dev/null"
check "status then exits 1" sh -c "! '$script' status --dir '$dir' >/dev/null 2>&1"

if [[ $failures -ne 0 ]]; then
  echo "$failures check(s) failed"
  cat "$tmp/err" "$dir"/*.log 2>/dev/null | tail -20
  exit 1
fi
echo "all scripts/nats.sh checks passed"
