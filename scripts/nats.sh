#!/usr/bin/env bash
# scripts/nats.sh: a project-local NATS JetStream server (Debian package
# `nats-server`, 2.9) for tickflow's [bus] roles (issue 19) in development.
# Everything lives under one folder (default var/nats), it binds 127.0.0.1
# only, and it is reused when already running there. It prints the URL(s).
#
#   scripts/nats.sh start [--dir DIR] [--port PORT] [--http-port PORT]  one node (4222, monitoring 8222)
#   scripts/nats.sh start --cluster [--dir DIR]    the 3-node cluster of tuning/nats/ (4222-4224),
#                                                  for tuning/cluster-*.toml (replicas = 3)
#   scripts/nats.sh start --temp ...               the same in a new temp folder (printed; stop with --dir)
#   scripts/nats.sh stop   [--dir DIR]             stop (SIGTERM, then SIGKILL after 10 s)
#   scripts/nats.sh status [--dir DIR]             print the URL(s) if running; exit 1 if not
set -euo pipefail

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
cmd=${1:-}
[[ -z "$cmd" || "$cmd" == -h || "$cmd" == --help ]] && { usage; exit 0; }
shift
src=$(cd "$(dirname "$0")/.." && pwd)
dir=var/nats
port=4222
http_port=8222
cluster=0
temp=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --http-port) http_port=$2; shift 2 ;;
    --cluster) cluster=1; shift ;;
    --temp) temp=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "nats.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [[ $temp -eq 1 ]]; then
  [[ "$cmd" == start ]] || { echo "nats.sh: --temp is for start" >&2; exit 2; }
  dir=$(mktemp -d -t tickflow-nats.XXXXXX)
  echo "nats.sh: store in $dir (stop: scripts/nats.sh stop --dir $dir)" >&2
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# A pid file's process is running and is a nats-server (not a reused pid).
pid_running() { [[ -f "$1" && "$(cat "/proc/$(cat "$1")/comm" 2>/dev/null)" == nats-server ]]; }
pidfiles() { compgen -G "$dir/*.pid" || true; }
all_running() {
  local f any=0
  for f in $(pidfiles); do pid_running "$f" || return 1; any=1; done
  [[ $any -eq 1 ]]
}
healthy() { curl -s --max-time 2 "http://127.0.0.1:$1/healthz" 2>/dev/null | grep -q '"status": *"ok"'; }
has_meta_leader() { curl -s --max-time 2 "http://127.0.0.1:$1/jsz" 2>/dev/null | grep -q '"leader": *"[^"]'; }
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Starts nats-server with CONFIG, NAME.pid and NAME.log in $dir.
spawn() {
  local config=$1 name=$2
  nohup nats-server -c "$config" -l "$dir/$name.log" >/dev/null 2>&1 &
  echo $! >"$dir/$name.pid"
}

# Waits (30 s) for /healthz ok on every HTTP port, and with --cluster for
# the JetStream meta leader (an R3 stream can be created then).
wait_ready() {
  local p f
  for _ in $(seq 1 300); do
    local ready=1
    for p in "$@"; do healthy "$p" && { [[ $cluster -eq 0 ]] || has_meta_leader "$p"; } || ready=0; done
    if [[ $ready -eq 1 ]]; then cat "$dir/url"; exit 0; fi
    for f in $(pidfiles); do
      pid_running "$f" || { echo "nats.sh: nats-server exited; its log:" >&2; tail -20 "${f%.pid}.log" >&2; exit 1; }
    done
    sleep 0.1
  done
  echo "nats.sh: not ready after 30 s; logs: $dir/*.log" >&2
  exit 1
}

case "$cmd" in
  start)
    if all_running; then cat "$dir/url"; exit 0; fi
    command -v nats-server >/dev/null || { echo "nats.sh: nats-server not found: apt-get install nats-server" >&2; exit 2; }
    command -v curl >/dev/null || { echo "nats.sh: curl not found: apt-get install curl" >&2; exit 2; }
    rm -f "$dir"/*.pid
    if [[ $cluster -eq 1 ]]; then
      # tuning/nats/cluster-n{0,1,2}.conf as shipped, their stores moved here.
      for p in 4222 4223 4224 6222 6223 6224 8222 8223 8224; do
        if port_taken "$p"; then
          echo "nats.sh: 127.0.0.1:$p is taken (the cluster uses 4222-4224, 6222-6224, 8222-8224)" >&2; exit 2
        fi
      done
      for i in 0 1 2; do
        sed -e "s|^\(\s*store_dir:\).*|\1 \"$dir/n$i\"|" "$src/tuning/nats/cluster-n$i.conf" >"$dir/n$i.conf"
      done
      for i in 0 1 2; do spawn "$dir/n$i.conf" "n$i"; done
      echo "nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224" >"$dir/url"
      wait_ready 8222 8223 8224
    fi
    if port_taken "$port"; then
      # Something listens there already: a NATS server (reuse it) or not (refuse).
      if healthy "$http_port"; then
        echo "nats.sh: reusing the NATS server already answering on 127.0.0.1:$port" >&2
        echo "nats://127.0.0.1:$port"; exit 0
      fi
      echo "nats.sh: 127.0.0.1:$port is taken by another process (or a NATS server without monitoring on $http_port); use --port" >&2
      exit 2
    fi
    # JetStream's limits are capped (the default is 75 % of the machine's
    # memory and disk).
    cat >"$dir/nats-server.conf" <<CONF
server_name: tickflow-dev
listen: 127.0.0.1:$port
http: 127.0.0.1:$http_port
jetstream {
  store_dir: "$dir/jetstream"
  max_memory_store: 256MB
  max_file_store: 8GB
}
CONF
    spawn "$dir/nats-server.conf" node
    echo "nats://127.0.0.1:$port" >"$dir/url"
    wait_ready "$http_port" ;;
  stop)
    all_running || [[ -n "$(pidfiles)" ]] || { echo "nats.sh: not running in $dir"; exit 0; }
    for f in $(pidfiles); do pid_running "$f" && kill "$(cat "$f")"; done
    for f in $(pidfiles); do
      pid=$(cat "$f")
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      pid_running "$f" && kill -9 "$pid"
      rm -f "$f"
    done ;;
  status)
    if all_running; then cat "$dir/url"; else echo "nats.sh: not running in $dir" >&2; exit 1; fi ;;
  *) echo "nats.sh: unknown command '$cmd' (start, stop, status)" >&2; exit 2 ;;
esac
