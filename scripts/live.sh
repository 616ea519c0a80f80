#!/usr/bin/env bash
# scripts/live.sh: the main job. On a fresh Debian 12 machine (as root, with
# internet): install what is missing, build, start (or reuse) a project-local
# InfluxDB in var/influxdb on 127.0.0.1:8086, and run the live pipeline with
# tuning/laptop-2core.toml: BTC and ETH, spot and perpetual, on 24 venues
# (feeds/README.md), liquidations on. 1 s bars and rollups land in the database
# significant_trades; undeliverable batches wait in var/spool.
#
#   scripts/live.sh                                   # Ctrl-C stops it cleanly
#   scripts/live.sh --config tuning/host-8core.toml --unpinned
#   curl -s http://127.0.0.1:9464/health ; curl -s http://127.0.0.1:9464/metrics
#
# Arguments are passed to `tickflow run` (default: --config tuning/laptop-2core.toml).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
"$root/scripts/setup.sh" >&2
[[ -f build/release/build.ninja ]] || cmake --preset release >&2
cmake --build --preset release --target tickflow -j2 >&2
url=$("$root/scripts/influxd.sh" start --dir var/influxdb --port 8086)
echo "live.sh: InfluxDB at $url (data in var/influxdb; stop it with scripts/influxd.sh stop)" >&2
mkdir -p var/spool
args=("$@")
[[ " ${args[*]} " == *" --config "* ]] || args=(--config tuning/laptop-2core.toml "${args[@]}")
exec "$root/build/release/runtime/tickflow" run "${args[@]}"
