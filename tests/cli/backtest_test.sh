#!/usr/bin/env bash
# tests/cli/backtest_test.sh TICKFLOW_BINARY SOURCE_DIR
# `tickflow backtest` end to end over the bundled Binance captures (BTC and
# ETH: spot, USD-M and COIN-M), played 80 times back to back (8 h) so that
# SqueezeFlow's 5m..4h phases have history:
#  * it runs and writes every output;
#  * two runs give byte-identical files;
#  * the report is internally consistent: final balance = start + the trades'
#    net P&L, total fees = the trades' fees, the equity curve ends at the
#    final balance, the trade count and wins agree with trades.csv;
#  * CSV bars (a 1 s and a 1 m market) work, and every user error exits 2
#    with a message naming what is wrong.
set -u
bin=$1
src=$2
data="$src/tests/data/binance-20240808-trades"
config="$src/tuning/laptop-2core.toml"
failures=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
captures=(--capture BINANCE="$data/spot_btcusdt.gz" --capture BINANCE_FUTURES="$data/usdm_btcusdt.gz"
  --capture BINANCE_FUTURES="$data/cm_btcusd_perp.gz" --capture BINANCE="$data/spot_ethusdt.gz"
  --capture BINANCE_FUTURES="$data/usdm_ethusdt.gz" --capture BINANCE_FUTURES="$data/cm_ethusd_perp.gz")

for run in a b; do
  "$bin" backtest --config "$config" --out "$tmp/$run" --repeat 80 "${captures[@]}" 2>"$tmp/err.$run"
  check "run $run exits 0" test $? -eq 0
done
for f in report.json trades.csv equity.csv equity.svg signals.jsonl; do
  check "$f written" test -s "$tmp/a/$f" -o "$f" = signals.jsonl -a -f "$tmp/a/$f"
  check "$f byte-identical across runs" cmp -s "$tmp/a/$f" "$tmp/b/$f"
done
check "summary on stderr" grep -q "^backtest: 28787 steps" "$tmp/err.a"
check "both groups backtested" grep -q '"group_ETH": "ETHUSDT (3 markets)"' "$tmp/a/report.json"
check "svg has labelled axes" sh -c "grep -q 'Time (UTC)' '$tmp/a/equity.svg' && grep -q '>Equity<' '$tmp/a/equity.svg'"

python3 - "$tmp/a" <<'PY'
import csv, json, sys
d = sys.argv[1]
r = json.load(open(f"{d}/report.json"))
m = r["metrics"]
trades = list(csv.DictReader(open(f"{d}/trades.csv")))
equity = list(csv.DictReader(open(f"{d}/equity.csv")))
signals = [json.loads(l) for l in open(f"{d}/signals.jsonl")]
ok = True
def expect(what, cond):
    global ok
    print(("ok   " if cond else "FAIL ") + what)
    ok = ok and cond
net = sum(float(t["net_pnl"]) for t in trades)
fees = sum(float(t["entry_fee"]) + float(t["exit_fee"]) for t in trades)
expect(f"trades in report ({m['trades']}) = rows in trades.csv ({len(trades)}) > 0", m["trades"] == len(trades) > 0)
expect("final balance = start + sum of net P&L",
       abs(m["final_balance"] - (m["starting_balance"] + net)) < 1e-6 * m["starting_balance"])
expect("total fees = sum of the trades' fees", abs(m["total_fees"] - fees) < 1e-9 * max(1, fees))
expect("equity curve ends at the final balance", abs(float(equity[-1]["equity"]) - m["final_balance"]) < 1e-6)
expect("equity curve starts at the starting balance", abs(float(equity[0]["equity"]) - m["starting_balance"]) < 1e-9)
expect("wins agree", m["wins"] == sum(1 for t in trades if float(t["net_pnl"]) > 0))
expect("every trade's net = pnl - fees",
       all(abs(float(t["net_pnl"]) - (float(t["pnl"]) - float(t["entry_fee"]) - float(t["exit_fee"]))) < 1e-9 for t in trades))
entries = [s for s in signals if s["action"] in ("LONG", "SHORT")]
expect(f"one entry signal per trade ({len(entries)})", len(entries) == len(trades))
expect("entries fill at or after their signal", all(int(t["entry_s"]) >= int(t["entry_signal_s"]) for t in trades))
sys.exit(0 if ok else 1)
PY
check "report is internally consistent" test $? -eq 0

# CSV bars: a 1 s market and a 1 m market.
{
  echo "time,market,timeframe,open,high,low,close,vbuy,vsell,cbuy,csell,lbuy,lsell"
  for s in $(seq 0 299); do echo "$((1723161600 + s)),BINANCE:btcusdt,1s,100,101,99,100,10,9,2,1,0,0"; done
  for m in 0 1 2 3 4; do echo "$((1723161600 + 60 * m)),BINANCE_FUTURES:btcusdt,1m,100,101,99,100,10,9,2,1,0,0"; done
} >"$tmp/bars.csv"
"$bin" backtest --config "$config" --out "$tmp/csv" --csv "$tmp/bars.csv" 2>"$tmp/err"
check "CSV bars: exit 0" test $? -eq 0
check "CSV bars: 300 steps, 305 bars" grep -q "^backtest: 300 steps .* 305 bars" "$tmp/err"

echo "1723161600,BINANCE:btcusdt,1m,100,101,99,100,10,9,2,1,0,0" >>"$tmp/bars.csv"
"$bin" backtest --config "$config" --out "$tmp/csv2" --csv "$tmp/bars.csv" 2>"$tmp/err"
check "1s and 1m for one market: exit 2" test $? -eq 2
check "... naming the market" grep -q "BINANCE:btcusdt" "$tmp/err"

"$bin" backtest --config "$config" --out "$tmp/x" --influx http://127.0.0.1:9 2>"$tmp/err"
check "--influx without --from/--to: exit 2" test $? -eq 2
check "... says so" grep -q -- "--influx needs --from and --to" "$tmp/err"
"$bin" backtest --config "$config" --out "$tmp/x" --influx http://127.0.0.1:9 --from yesterday --to 2024-08-09 2>"$tmp/err"
check "bad --from: exit 2" test $? -eq 2
check "... names it" grep -q -- "--from 'yesterday': not ISO-8601" "$tmp/err"
"$bin" backtest --config "$config" --out "$tmp/x" --influx http://127.0.0.1:9 --from 2024-08-09 --to 1723248000 2>"$tmp/err"
check "InfluxDB down: exit 2" test $? -eq 2
check "... names the URL" grep -q "127.0.0.1:9" "$tmp/err"
"$bin" backtest --config "$config" --out "$tmp/x" --csv "$tmp/bars.csv" --base 1m 2>"$tmp/err"
check "--base without --influx: exit 2" test $? -eq 2
check "... says so" grep -q -- "--base, --retention-policy, --market and --gap apply to --influx only" "$tmp/err"
"$bin" backtest --config "$config" --out "$tmp/x" --influx http://127.0.0.1:9 --from 2024-08-09 --to 2024-08-10 \
  --base auto --retention-policy aggr_1s 2>"$tmp/err"
check "--base auto with --retention-policy: exit 2" test $? -eq 2
"$bin" backtest --config "$config" --out "$tmp/x" --influx http://127.0.0.1:9 --from 2024-08-09 --to 2024-08-10 \
  --base 1h 2>"$tmp/err"
check "--base 1h: exit 2" test $? -eq 2
"$bin" backtest --config "$config" --out "$tmp/x" --csv "$tmp/bars.csv" "${captures[@]:0:2}" 2>"$tmp/err"
check "two sources: exit 2" test $? -eq 2
"$bin" backtest --config "$config" --out "$tmp/x" --capture "$data/spot_btcusdt.gz" 2>"$tmp/err"
check "capture without exchange: exit 2" test $? -eq 2
check "... asks for EXCHANGE=PATH" grep -q "EXCHANGE=PATH" "$tmp/err"

# As replay: a bare path whose frames tell the exchange (Coinbase matches).
cp "$src/tests/data/cryptofeed/COINBASE.ws.28.0.gz" "$tmp/capture.gz"
"$bin" backtest --config "$config" --out "$tmp/cb" --capture "$tmp/capture.gz" 2>"$tmp/err"
check "capture whose frames name the exchange: exit 0" test $? -eq 0
check "... its bars backtested" grep -q '"group_BTC": "BTCUSDT' "$tmp/cb/report.json"

echo "$failures failure(s)"
test "$failures" -eq 0
