#!/usr/bin/env bash
# scripts/demo.sh: the offline demo (no internet needed). Installs what is
# missing, builds, starts (or reuses) the project-local InfluxDB in
# var/influxdb on 127.0.0.1:8086, replays the bundled Binance captures
# (tests/data/binance-20240808-trades: spot BTCUSDT, USD-M BTCUSDT, COIN-M
# BTCUSD_PERP, six minutes of 2024-08-08) through the production path into
# it, and prints a table of the 1-minute bars read back from InfluxDB.
#
#   scripts/demo.sh            # then: scripts/influxd.sh stop
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
"$root/scripts/setup.sh" >&2
[[ -f build/release/build.ninja ]] || cmake --preset release >&2
cmake --build --preset release --target tickflow -j2 >&2
url=$("$root/scripts/influxd.sh" start --dir var/influxdb --port 8086)
D=tests/data/binance-20240808-trades
db=tickflow_demo
"$root/build/release/runtime/tickflow" replay --quiet --influx "$url" --db "$db" \
  BINANCE="$D/spot_btcusdt.gz" BINANCE_FUTURES="$D/usdm_btcusdt.gz" BINANCE_FUTURES="$D/cm_btcusd_perp.gz"
echo
echo "1-minute bars in InfluxDB ($url, database $db, measurement trades_1m):"
curl -sG "$url/query" --data-urlencode "db=$db" --data-urlencode "epoch=s" --data-urlencode \
  "q=SELECT open, high, low, close, vbuy, vsell, cbuy, csell FROM aggr_1m.trades_1m GROUP BY market" |
python3 -c '
import json, sys, datetime
rows = []
for result in json.load(sys.stdin).get("results", []):
    for series in result.get("series", []):
        for v in series["values"]:
            rows.append((v[0], series["tags"]["market"], *v[1:]))
rows.sort(key=lambda r: (r[1], r[0]))
print("%-17s %-28s %10s %10s %10s %10s %14s %14s %7s" % ("time (UTC)", "market", "open", "high", "low", "close", "buy USD", "sell USD", "trades"))
for r in rows:
    t = datetime.datetime.fromtimestamp(r[0], datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    print("%-17s %-28s %10.2f %10.2f %10.2f %10.2f %14.2f %14.2f %7d" % (t, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8] + r[9]))
print("%d bars" % len(rows))
'
