#!/usr/bin/env bash
# scripts/influxd.sh: a project-local InfluxDB 1.x (Debian package `influxdb`)
# for `tickflow run`, the demo and bench/e2e. Everything lives under one data
# folder (default var/influxdb), it binds to 127.0.0.1 only, and it is
# reused when already running there.
#
#   scripts/influxd.sh start [--dir DIR] [--port PORT]   start, or reuse; wait for /ping
#   scripts/influxd.sh stop  [--dir DIR]                  stop (SIGTERM, then SIGKILL after 10 s)
#   scripts/influxd.sh status [--dir DIR]                 print the URL if running; exit 1 if not
set -euo pipefail

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
cmd=${1:-}
[[ -z "$cmd" || "$cmd" == -h || "$cmd" == --help ]] && { usage; exit 0; }
shift
dir=var/influxdb
port=8086
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "influxd.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
pidfile=$dir/influxd.pid

running() { [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
url_of() { cat "$dir/url" 2>/dev/null || echo "http://127.0.0.1:$port"; }

case "$cmd" in
  start)
    if running; then echo "$(url_of)"; exit 0; fi
    command -v influxd >/dev/null || { echo "influxd.sh: influxd not found: apt-get install influxdb" >&2; exit 2; }
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      # Something listens there already: an InfluxDB (reuse it) or not (refuse).
      if curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ping" 2>/dev/null | grep -q 204; then
        echo "influxd.sh: reusing the InfluxDB already answering on 127.0.0.1:$port" >&2
        echo "http://127.0.0.1:$port"; exit 0
      fi
      echo "influxd.sh: 127.0.0.1:$port is taken by another process (not InfluxDB); use --port" >&2; exit 2
    fi
    rpc=$((port + 2))
    cat > "$dir/influxd.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc"
[meta]
  dir = "$dir/meta"
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:$port"
  log-enabled = false
  unix-socket-enabled = false
[logging]
  level = "warn"
CONF
    nohup influxd -config "$dir/influxd.conf" > "$dir/influxd.log" 2>&1 &
    echo $! > "$pidfile"
    echo "http://127.0.0.1:$port" > "$dir/url"
    for _ in $(seq 1 300); do
      if curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ping" 2>/dev/null | grep -q 204; then
        echo "$(url_of)"; exit 0
      fi
      running || { echo "influxd.sh: influxd exited; its log:" >&2; tail -20 "$dir/influxd.log" >&2; exit 1; }
      sleep 0.1
    done
    echo "influxd.sh: no answer on /ping after 30 s; log: $dir/influxd.log" >&2; exit 1 ;;
  stop)
    running || { echo "influxd.sh: not running in $dir"; exit 0; }
    pid=$(cat "$pidfile"); kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; exit 0; }; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true; rm -f "$pidfile" ;;
  status)
    if running; then url_of; else echo "influxd.sh: not running in $dir" >&2; exit 1; fi ;;
  *) echo "influxd.sh: unknown command '$cmd' (start, stop, status)" >&2; exit 2 ;;
esac
