#!/usr/bin/env bash
# tests/cli/nats_cluster_config_test.sh SOURCE_DIR
# The shipped NATS cluster config (tuning/nats/cluster-n{0,1,2}.conf) forms
# one JetStream cluster: the three files, with only their ports moved to
# free loopback ports and their store to a temp dir, pass `nats-server -t`,
# start, route to each other (2 routes each), agree on a JetStream meta
# leader of a 3-peer group, answer /healthz ok, and take an R3 stream (the
# replicas tickflow's cluster-*.toml configs ask for). The shipped files
# bind 127.0.0.1 only. Everything stays on loopback; the servers are
# stopped (SIGTERM, then SIGKILL) and the temp dir removed at exit.
set -u
src=$1
conf_dir=$src/tuning/nats
deadline_s=${NATS_CLUSTER_TEST_DEADLINE_S:-30}  # generous: elections under a loaded 2-core CI host
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
config_valid() {  # nats-server -t, its output only when it refuses
  local out
  out=$(nats-server -t -c "$1" 2>&1) || { echo "$out" | sed 's/^/     | /'; return 1; }
}
command -v nats-server >/dev/null || { echo "FAIL nats-server not found (Debian package nats-server, scripts/setup.sh)"; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

# ---- the shipped files: loopback only --------------------------------------------
for i in 0 1 2; do
  f=$conf_dir/cluster-n$i.conf
  check "cluster-n$i.conf exists" test -f "$f"
  # Every address it binds (listen, http, cluster listen) is 127.0.0.1.
  binds=$(grep -E '^\s*(listen|http)\s*:' "$f" | grep -vc '127\.0\.0\.1:')
  check "cluster-n$i.conf binds 127.0.0.1 only (found $binds other)" test "$binds" -eq 0
  check "cluster-n$i.conf: server_name tickflow-n$i" grep -Eq "^server_name: tickflow-n$i$" "$f"
done

# ---- nine free loopback ports: clients, routes, monitoring -------------------------
read -r -a ports < <(python3 -c '
import socket
socks = []
for _ in range(9):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
')
[[ ${#ports[@]} -eq 9 ]] || { echo "FAIL could not find 9 free loopback ports"; exit 1; }
client=("${ports[@]:0:3}")
route=("${ports[@]:3:3}")
http=("${ports[@]:6:3}")

# The files as shipped, with 422N/622N/822N and the store moved.
for i in 0 1 2; do
  sed -e "s|127\.0\.0\.1:4222|127.0.0.1:${client[0]}|g; s|127\.0\.0\.1:4223|127.0.0.1:${client[1]}|g" \
    -e "s|127\.0\.0\.1:4224|127.0.0.1:${client[2]}|g" \
    -e "s|127\.0\.0\.1:6222|127.0.0.1:${route[0]}|g; s|127\.0\.0\.1:6223|127.0.0.1:${route[1]}|g" \
    -e "s|127\.0\.0\.1:6224|127.0.0.1:${route[2]}|g" \
    -e "s|127\.0\.0\.1:8222|127.0.0.1:${http[0]}|g; s|127\.0\.0\.1:8223|127.0.0.1:${http[1]}|g" \
    -e "s|127\.0\.0\.1:8224|127.0.0.1:${http[2]}|g" \
    -e "s|^\(\s*store_dir:\).*|\1 \"$tmp/store-n$i\"|" \
    -e "s|^\(\s*max_file_store:\).*|\1 1GB|" \
    "$conf_dir/cluster-n$i.conf" >"$tmp/n$i.conf"
  # A file this test no longer adjusts would bind the real ports: refuse.
  left=$(grep -v '^\s*#' "$tmp/n$i.conf" | grep -cE ':(422[2-4]|622[2-4]|822[2-4])\b|/var/lib/nats')
  check "n$i: every port and the store moved (left: $left)" test "$left" -eq 0
  check "n$i: nats-server -t accepts it" config_valid "$tmp/n$i.conf"
done
[[ $failures -eq 0 ]] || { echo "$failures check(s) failed"; exit 1; }

for i in 0 1 2; do
  nats-server -c "$tmp/n$i.conf" -l "$tmp/n$i.log" &
  pids+=($!)
done

# ---- wait for the cluster: health, routes, one meta leader of three peers -----------
json_of() { curl -s --max-time 2 "http://127.0.0.1:$1$2" 2>/dev/null; }
formed() {  # every node healthy, routed to both others, same meta leader
  local i leader="" this
  for i in 0 1 2; do
    json_of "${http[$i]}" /healthz | grep -q '"status": *"ok"' || return 1
    json_of "${http[$i]}" /routez | grep -Eq '"num_routes": *2\b' || return 1
    this=$(json_of "${http[$i]}" /jsz | python3 -c '
import json, sys
m = json.load(sys.stdin).get("meta_cluster") or {}
print(m.get("leader", "") if m.get("cluster_size") == 3 else "")' 2>/dev/null)
    [[ -n $this ]] || return 1
    [[ -z $leader || $leader == "$this" ]] || return 1
    leader=$this
  done
  echo "$leader" >"$tmp/leader"
}
start=$SECONDS
until formed; do
  if ((SECONDS - start > deadline_s)); then
    echo "FAIL the cluster did not form within ${deadline_s} s; logs:"
    tail -n 15 "$tmp"/n*.log
    exit 1
  fi
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "FAIL a nats-server exited; logs:"; tail -n 15 "$tmp"/n*.log; exit 1; }
  done
  sleep 0.2
done
echo "ok   cluster formed in $((SECONDS - start)) s: 3 healthy nodes, 2 routes each, meta leader $(cat "$tmp/leader") of 3"
check "the meta leader is one of tickflow-n0..2" grep -Eq '^tickflow-n[012]$' "$tmp/leader"

# ---- an R3 stream: the JetStream API over the plain NATS protocol ---------------------
# (no NATS CLI in Debian 12; the client protocol is text: CONNECT, SUB, PUB.)
stream=$(python3 - "${client[0]}" "$deadline_s" <<'PY'
import json, socket, sys, time
port, deadline = int(sys.argv[1]), time.monotonic() + float(sys.argv[2])
request = json.dumps({"name": "TICKFLOW_CONFIG_TEST", "subjects": ["tickflow-config-test.>"],
                      "retention": "limits", "storage": "file", "num_replicas": 3,
                      "duplicate_window": 120 * 10**9, "max_age": 3600 * 10**9}).encode()
last = "no answer"
while time.monotonic() < deadline:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        f = s.makefile("rb")
        f.readline()  # INFO
        s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n'
                  b"SUB _INBOX.cfgtest 1\r\n"
                  b"PUB $JS.API.STREAM.CREATE.TICKFLOW_CONFIG_TEST _INBOX.cfgtest %d\r\n%s\r\nPING\r\n"
                  % (len(request), request))
        while True:
            line = f.readline()
            if not line:
                break
            if line.startswith(b"PING"):
                s.sendall(b"PONG\r\n")
            elif line.startswith(b"MSG "):
                body = f.read(int(line.split()[-1]) + 2)[:-2]
                answer = json.loads(body)
                if "error" in answer:
                    last = json.dumps(answer["error"])
                    break
                cluster = answer.get("cluster", {})
                print(answer["config"]["num_replicas"], cluster.get("leader", ""), len(cluster.get("replicas", [])))
                sys.exit(0)
            elif line.startswith(b"HMSG "):  # 503 no responders: JetStream not ready yet
                parts = line.split()
                f.read(int(parts[-1]) + 2)
                last = "no responders"
                break
        s.close()
    except (OSError, ValueError) as e:
        last = str(e)
    time.sleep(0.2)
print("error", last)
sys.exit(1)
PY
)
echo "     stream create: $stream"
read -r replicas stream_leader followers <<<"$stream"
check "an R3 stream is created (num_replicas 3)" test "$replicas" = 3
check "... led by a cluster node ($stream_leader)" grep -Eq '^tickflow-n[012]$' <<<"$stream_leader"
check "... with 2 followers ($followers)" test "$followers" = 2

if [[ $failures -ne 0 ]]; then
  echo "$failures check(s) failed; logs:"
  tail -n 15 "$tmp"/n*.log
  exit 1
fi
echo "all NATS cluster config checks passed"
