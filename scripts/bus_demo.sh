#!/usr/bin/env bash
# scripts/bus_demo.sh: the three-process NATS JetStream demo (issue 19; no
# internet needed). Two collectors (A and B, tuning/cluster-collector.toml)
# read the same bundled Binance captures (tests/data/binance-20240808-trades:
# spot and USD-M, BTCUSDT and ETHUSDT) from two local TLS websocket servers
# (bench/capture_ws_server; B's drops its connections after 3000 frames and
# resends 100 on reconnect) and publish to a temporary one-node JetStream
# (scripts/nats.sh); one aggregator (tuning/cluster-aggregator.toml) takes
# every trade once and writes its bars to InfluxDB (scripts/influxd.sh).
# Then the same captures go through a single-host `tickflow replay` into
# another database, and the 1-minute bars of both are printed side by side.
# Exit 0 when they are equal, 1 when not.
#
#   scripts/bus_demo.sh                       # installs/builds what is missing
#   scripts/bus_demo.sh --build-dir build/X   # use that build's binaries, build nothing
#   scripts/bus_demo.sh --temp-influx         # a throw-away InfluxDB on a free port
#                                             # (default: var/influxdb on 8086, as demo.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
build_dir=
temp_influx=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --temp-influx) temp_influx=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bus_demo.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
started=$(date +%s%N)

if [[ -z "$build_dir" ]]; then
  "$root/scripts/setup.sh" >&2
  [[ -f build/release/build.ninja ]] || cmake --preset release >&2
  cmake --build --preset release --target tickflow capture_ws_server -j2 >&2
  build_dir=build/release
fi
build_dir=$(cd "$build_dir" && pwd)
tickflow=$build_dir/runtime/tickflow
server=$build_dir/bench/capture_ws_server
for b in "$tickflow" "$server"; do
  [[ -x "$b" ]] || { echo "bus_demo.sh: $b not built (cmake --build $build_dir --target tickflow capture_ws_server)" >&2; exit 2; }
done

tmp=$(mktemp -d -t tickflow-bus-demo.XXXXXX)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  "$root/scripts/nats.sh" stop --dir "$tmp/nats" >/dev/null 2>&1 || true
  [[ $temp_influx -eq 1 ]] && { "$root/scripts/influxd.sh" stop --dir "$tmp/influxdb" >/dev/null 2>&1 || true; }
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_ports() { python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"; }
read -r nats_port nats_http a_port b_port agg_port influx_port < <(free_ports 6)
log() { local ds=$((($(date +%s%N) - started) / 100000000)); printf '[%3d.%d s] %s\n' $((ds / 10)) $((ds % 10)) "$*" >&2; }

nats=$("$root/scripts/nats.sh" start --dir "$tmp/nats" --port "$nats_port" --http-port "$nats_http")
log "JetStream node: $nats"
if [[ $temp_influx -eq 1 ]]; then
  influx=$("$root/scripts/influxd.sh" start --dir "$tmp/influxdb" --port "$influx_port")
else
  influx=$("$root/scripts/influxd.sh" start --dir var/influxdb --port 8086)
fi
log "InfluxDB: $influx"
bus_db=tickflow_bus_demo
single_db=tickflow_bus_demo_single
for db in "$bus_db" "$single_db"; do
  curl -sf -o /dev/null -XPOST "$influx/query" --data-urlencode "q=DROP DATABASE $db"
done

# The two exchanges' sides, re-timed alike (the same --now-ms): A's plays
# through; B's drops each connection after 3000 frames.
now_ms=$(date +%s%3N)
"$server" --now-ms "$now_ms" >"$tmp/server-a.env" 2>"$tmp/server-a.log" & pids+=($!)
"$server" --now-ms "$now_ms" --drop-after 3000 --resume-overlap 100 >"$tmp/server-b.env" 2>"$tmp/server-b.log" & pids+=($!)
for s in a b; do
  for _ in $(seq 1 300); do grep -q '^READY=1' "$tmp/server-$s.env" && break; sleep 0.1; done
  grep -q '^READY=1' "$tmp/server-$s.env" || { echo "bus_demo.sh: capture server $s not ready:" >&2; cat "$tmp/server-$s.log" >&2; exit 1; }
done
env_of() { sed -n "s/^$2=//p" "$tmp/server-$1.env"; }
shift_ms=$(env_of a SHIFT_MS)
frames=$(env_of a FRAMES)
log "capture servers: $frames trades each, moved by $shift_ms ms (whole minutes)"

# The three configs: tuning/cluster-*.toml on one node (replicas = 1),
# feeds at the local servers, own metrics ports and temporary folders.
python3 - "$root" "$tmp" "$nats" "$influx" "$bus_db" "$a_port" "$b_port" "$agg_port" <<'PY'
import re, sys
root, tmp, nats, influx, db, a_port, b_port, agg_port = sys.argv[1:]

def edit(text, key, value, path, old=None):
    current = re.escape(old) if old else r"[^#\n]*?"
    pattern = re.compile(r"^(" + re.escape(key) + r"\s*=\s*)" + current + r"(\s*(#.*)?)$", re.M)
    text, n = pattern.subn(lambda m: m.group(1) + value + m.group(2), text)
    if n != 1:
        sys.exit(f"bus_demo.sh: {path}: expected one '{key} =' line, found {n}")
    return text

def env(name):
    return dict(line.split("=", 1) for line in open(f"{tmp}/server-{name}.env").read().split())

common = {"servers": f'["{nats}"]', "replicas": "1"}
path = f"{root}/tuning/cluster-collector.toml"
for name, port in (("a", a_port), ("b", b_port)):
    text = open(path).read()
    for key, value in {**common, "collector_name": f'"demo-{name}"', "port": port}.items():
        text = edit(text, key, value, path)
    text = edit(text, "spool_dir", f'"{tmp}/collector-{name}/bus-spool"', path, old='"/var/lib/tickflow/bus-spool"')
    e = env(name)
    text += "\n# bus_demo.sh: the local capture server, no REST backfill.\n[feeds]\nbackfill = false\nstale_after_ms = 30000\n"
    for venue in ("BINANCE", "BINANCE_FUTURES"):
        text += (f'\n[feeds.endpoints.{venue}]\nhost = "127.0.0.1"\nport = {e[venue + "_PORT"]}\n'
                 f'ca_file = "{e[venue + "_CA_FILE"]}"\n')
    open(f"{tmp}/collector-{name}.toml", "w").write(text)

path = f"{root}/tuning/cluster-aggregator.toml"
text = open(path).read()
for key, value in {**common, "url": f'"{influx}"', "database": f'"{db}"', "spool_dir": f'"{tmp}/aggregator/spool"',
                   "port": agg_port}.items():
    text = edit(text, key, value, path)
text += "\n# bus_demo.sh: no REST backfill.\n[feeds]\nbackfill = false\n"
open(f"{tmp}/aggregator.toml", "w").write(text)
PY

run() {  # NAME: tickflow run --config $tmp/NAME.toml in the background, log in $tmp/NAME.log ($! is its pid)
  "$tickflow" run --config "$tmp/$1.toml" --log-level warn --log-file "$tmp/$1.log" & pids+=($!)
}
run aggregator; pid_agg=$!
run collector-a; pid_a=$!
run collector-b; pid_b=$!
log "started: collector A (pid $pid_a, :$a_port), collector B (pid $pid_b, :$b_port), aggregator (pid $pid_agg, :$agg_port)"

metric() {  # PORT FAMILY [LABELS]: the value, or -1
  { curl -s --max-time 2 "http://127.0.0.1:$1/metrics" 2>/dev/null || true; } |
    awk -v f="$2" -v l="${3:-}" '$1 == f || (l != "" && index($1, f "{") == 1 && index($1, l) > 0) { print $2; found = 1; exit }
      END { if (!found) print -1 }'
}
show_bus() {  # what the three say about the bus and their feeds
  local p
  for p in "$a_port" "$b_port" "$agg_port"; do
    echo "--- :$p /metrics (bus, feeds, aggregator)" >&2
    { curl -s --max-time 2 "http://127.0.0.1:$p/metrics" || true; } |
      grep -E '^tickflow_(bus|feed|aggregator)_[a-z_]*(\{[^}]*\})? ' | head -n 40 >&2 || true
  done
}
applied=-1
deadline=$((SECONDS + ${BUS_DEMO_TIMEOUT_S:-120}))
while [[ $SECONDS -lt $deadline ]]; do
  applied=$(metric "$agg_port" tickflow_aggregator_trades_total)
  [[ "${applied%.*}" -ge "$frames" ]] && break
  for p in "$pid_a" "$pid_b" "$pid_agg"; do
    kill -0 "$p" 2>/dev/null || { echo "bus_demo.sh: tickflow (pid $p) exited early; logs:" >&2; tail -n 20 "$tmp"/*.log >&2; exit 1; }
  done
  sleep 0.2
done
if [[ "${applied%.*}" -lt "$frames" ]]; then
  echo "bus_demo.sh: the aggregator took $applied of $frames trades in ${BUS_DEMO_TIMEOUT_S:-120} s; logs:" >&2
  tail -n 20 "$tmp"/*.log >&2
  show_bus
  exit 1
fi
log "the aggregator has applied all $frames trades"
for _ in $(seq 1 300); do grep -q '^DONE=1' "$tmp/server-b.env" && break; sleep 0.1; done
a_pub=$(metric "$a_port" tickflow_bus_messages_total 'role="collector"')
b_pub=$(metric "$b_port" tickflow_bus_messages_total 'role="collector"')
a_dup=$(metric "$a_port" tickflow_bus_duplicates_total 'where="stream"')
b_dup=$(metric "$b_port" tickflow_bus_duplicates_total 'where="stream"')
b_reconnects=$({ curl -s "http://127.0.0.1:$b_port/metrics" || true; } | awk '/^tickflow_feed_reconnects_total/ { s += $2 } END { print s + 0 }')
agg_msgs=$(metric "$agg_port" tickflow_bus_messages_total 'role="aggregator"')
agg_dup=$(metric "$agg_port" tickflow_bus_duplicates_total 'where="aggregator"')

stop() {  # PID NAME: SIGTERM, wait; its exit status must be 0
  kill -TERM "$1"
  local rc=0
  wait "$1" || rc=$?
  [[ $rc -eq 0 ]] || { echo "bus_demo.sh: $2 exited $rc; its log:" >&2; tail -n 20 "$tmp/$2.log" >&2; exit 1; }
}
stop "$pid_a" collector-a
stop "$pid_b" collector-b
stop "$pid_agg" aggregator
log "stopped (SIGTERM): the aggregator closed its open bars and flushed InfluxDB"
printf '  collector A published %s messages (%s dropped by the stream as duplicates)\n' "$a_pub" "$a_dup" >&2
printf '  collector B published %s messages (%s dropped by the stream as duplicates), %s feed reconnects\n' \
  "$b_pub" "$b_dup" "$b_reconnects" >&2
printf '  the aggregator applied %s messages, %s trades, %s duplicate trades dropped\n' "$agg_msgs" "$applied" "$agg_dup" >&2

D=tests/data/binance-20240808-trades
"$tickflow" replay --quiet --influx "$influx" --db "$single_db" \
  BINANCE="$D/spot_btcusdt.gz" BINANCE="$D/spot_ethusdt.gz" \
  BINANCE_FUTURES="$D/usdm_btcusdt.gz" BINANCE_FUTURES="$D/usdm_ethusdt.gz" 2>"$tmp/replay.log" ||
  { echo "bus_demo.sh: tickflow replay failed:" >&2; cat "$tmp/replay.log" >&2; exit 1; }
log "single-host: tickflow replay of the same captures into database $single_db"

query() {
  curl -sG "$influx/query" --data-urlencode "db=$1" --data-urlencode "epoch=s" --data-urlencode \
    "q=SELECT open, high, low, close, vbuy, vsell, cbuy, csell FROM aggr_1m.trades_1m GROUP BY market"
}
query "$bus_db" >"$tmp/bus.json"
query "$single_db" >"$tmp/single.json"
echo
echo "1-minute bars (InfluxDB $influx, aggr_1m.trades_1m): the aggregator's ($bus_db, times moved back by"
echo "$shift_ms ms) and the single-host replay's ($single_db):"
rc=0
python3 - "$tmp/bus.json" "$tmp/single.json" "$shift_ms" <<'PY' || rc=$?
import json, sys, datetime, math
def bars(path, shift_s):
    out = {}
    for result in json.load(open(path)).get("results", []):
        for series in result.get("series", []):
            for v in series["values"]:
                out[(series["tags"]["market"], v[0] - shift_s)] = v[1:]
    return out
bus = bars(sys.argv[1], int(sys.argv[3]) // 1000)
single = bars(sys.argv[2], 0)
def same(a, b):
    if a is None or b is None: return False
    return all((x is None and y is None) or (x is not None and y is not None and math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9))
               for x, y in zip(a, b))
print("%-17s %-26s %10s %10s %10s %10s %14s %14s %7s %7s  %s" % ("time (UTC)", "market", "open", "high", "low", "close",
      "buy USD", "sell USD", "trades", "single", "equal"))
equal = 0
for key in sorted(set(bus) | set(single)):
    b, s = bus.get(key), single.get(key)
    r = b if b is not None else s
    t = datetime.datetime.fromtimestamp(key[1], datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    ok = same(b, s)
    equal += ok
    count = lambda x: "-" if x is None else "%d" % (x[6] + x[7])
    print("%-17s %-26s %10.2f %10.2f %10.2f %10.2f %14.2f %14.2f %7s %7s  %s" % (t, key[0], *r[:6], count(b), count(s),
          "yes" if ok else "NO"))
n = len(set(bus) | set(single))
trades = lambda d: sum(v[6] + v[7] for v in d.values())
print("%d bars from the bus (%d trades), %d from the single host (%d trades): %d of %d equal" %
      (len(bus), trades(bus), len(single), trades(single), equal, n))
if equal == n and n > 0:
    print("RESULT: the bus bars EQUAL the single-host bars")
    sys.exit(0)
print("RESULT: the bus bars DIFFER from the single-host bars")
sys.exit(1)
PY
log "done"
exit $rc
