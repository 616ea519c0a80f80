#!/usr/bin/env bash
# tests/cli/replay_test.sh TICKFLOW_BINARY DATA_DIR
# `tickflow replay` end to end, over the bundled Binance subsets: CSV shape,
# exact row counts (676 spot + 569 USD-M trades, from binance_reference.py),
# the merge by receive time, pacing, and every user error's exit code and message.
# --bars-out over the bundled full-length trade captures (binance-20240808-trades):
# exact line counts per measurement, a known bar line, stdout, determinism, the
# options, an amendment end to end, and the errors.
# --config (a tuning profile's bar settings as defaults), its errors, and the
# progress display (a bar on a terminal only).
set -u
bin=$1
data=$2
failures=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
spot="$data/binance-20240808/spot_btcusdt.gz"
usdm="$data/binance-20240808/usdm_btcusdt.gz"

"$bin" replay --quiet --trades-out "$tmp/t.csv" --quotes-out "$tmp/q.csv" BINANCE="$spot" BINANCE_FUTURES="$usdm" 2>"$tmp/err"
check "replay exits 0" test $? -eq 0
check "trades header" test "$(head -1 "$tmp/t.csv")" = "market,exchange_ts_ns,receive_ts_ns,trade_id,price,qty,side,liquidation"
check "quotes header" test "$(head -1 "$tmp/q.csv")" = "market,exchange_ts_ns,receive_ts_ns,bid_price,bid_qty,ask_price,ask_qty"
check "1245 trades (676 spot + 569 USD-M)" test "$(($(wc -l <"$tmp/t.csv") - 1))" -eq 1245
check "676 spot trades" test "$(grep -c '^BINANCE:btcusdt,' "$tmp/t.csv")" -eq 676
check "569 USD-M trades" test "$(grep -c '^BINANCE_FUTURES:btcusdt,' "$tmp/t.csv")" -eq 569
check "6056 quotes (2939 + 3117 bookTicker)" test "$(($(wc -l <"$tmp/q.csv") - 1))" -eq 6056
check "merged by receive time" sh -c "tail -n +2 '$tmp/t.csv' | cut -d, -f3 | sort -c -n"
check "summary per exchange" grep -q "BINANCE_FUTURES *frames 4000 *trades 569" "$tmp/err"

"$bin" replay --quiet --trades-out - BINANCE="$spot" 2>/dev/null | head -2 | tail -1 >"$tmp/first"
check "stdout output, first spot trade" grep -q "^BINANCE:btcusdt,1723161255342000000,1723161254087896568,3735683259,61837.63,0.02,sell,0$" "$tmp/first"

"$bin" replay --trades-out /dev/null "$spot" 2>"$tmp/err"
check "bare Binance path: exit 2" test $? -eq 2
check "bare Binance path: suggests EXCHANGE=PATH" grep -q "EXCHANGE=PATH" "$tmp/err"

"$bin" replay --trades-out /dev/null NOPE="$spot" 2>"$tmp/err"
check "unknown exchange: exit 2" test $? -eq 2
check "unknown exchange: named" grep -q "unknown exchange 'NOPE'" "$tmp/err"

"$bin" replay --trades-out /dev/null BINANCE=/nonexistent.gz 2>"$tmp/err"
check "missing file: exit 2" test $? -eq 2
check "missing file: path named" grep -q "/nonexistent.gz" "$tmp/err"

"$bin" replay --speed fast --trades-out /dev/null BINANCE="$spot" 2>"$tmp/err"
check "bad --speed: exit 2" test $? -eq 2

# Pacing: the bundled spot subset spans 38.47 s of receive time; at 100x
# that is 385 ms, and at max speed it is far less.
start=$(date +%s%N)
"$bin" replay --quiet --speed 100 --trades-out /dev/null BINANCE="$spot" 2>/dev/null
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
check "--speed 100 paces (took ${elapsed_ms} ms, expected >= 380)" test "$elapsed_ms" -ge 380

"$bin" replay --help >"$tmp/help"
check "--help documents EXCHANGE=PATH with an example" grep -q "BINANCE=spot_btcusdt.gz" "$tmp/help"
check "--help documents --bars-out" grep -q -- "--bars-out FILE|-" "$tmp/help"

# ---- --bars-out ----------------------------------------------------------------
trades="$data/binance-20240808-trades"
bars_args=(BINANCE="$trades/spot_btcusdt.gz" BINANCE_FUTURES="$trades/usdm_btcusdt.gz"
  BINANCE_FUTURES="$trades/cm_btcusd_perp.gz")
"$bin" replay --quiet --bars-out "$tmp/bars.lp" "${bars_args[@]}" 2>"$tmp/err"
check "--bars-out exits 0" test $? -eq 0
count() { grep -c "^$1,market=$2 " "$tmp/bars.lp"; }
# 1 s bars = seconds with trades: 345 spot (the figure the issue gives), 344
# USD-M, 202 COIN-M; each bar once, none amended (the captures are in
# order). Rollups: the captures run from 23:54:15 to 00:00:01 UTC, across
# midnight, but USD-M's last trade is at 23:59:59.643, so it has no 00:00
# windows: 1m 7+6+7, 5m 3+2+3, and 2+1+2 for each of 15m, 30m, 1h and 4h.
check "939 lines" test "$(wc -l <"$tmp/bars.lp")" -eq 939
check "345 spot 1s bars" test "$(count trades_1s BINANCE:btcusdt)" -eq 345
check "344 USD-M 1s bars" test "$(count trades_1s BINANCE_FUTURES:btcusdt)" -eq 344
check "202 COIN-M 1s bars" test "$(count trades_1s BINANCE_FUTURES:btcusd_perp)" -eq 202
check "20 1m bars" test "$(grep -c '^trades_1m,' "$tmp/bars.lp")" -eq 20
check "8 5m bars" test "$(grep -c '^trades_5m,' "$tmp/bars.lp")" -eq 8
for tf in 15m 30m 1h 4h; do
  check "5 $tf bars" test "$(grep -c "^trades_$tf," "$tmp/bars.lp")" -eq 5
done
check "4h windows split at midnight UTC" sh -c "grep -q '^trades_4h,market=BINANCE:btcusdt .* 1723147200\$' '$tmp/bars.lp' &&
  grep -q '^trades_4h,market=BINANCE:btcusdt .* 1723161600\$' '$tmp/bars.lp'"
check "first spot bar, every field" test "$(grep -m1 '^trades_1s,market=BINANCE:btcusdt ' "$tmp/bars.lp")" = \
  "trades_1s,market=BINANCE:btcusdt open=61837.63,high=61837.63,low=61828.01,close=61828.02,vbuy=500.80696199999994,vsell=13524.4661305,cbuy=1,csell=46,lbuy=0,lsell=0,qbuy=0.0081,qsell=0.2187200000000002 1723161255"
check "each bar once (no amendments)" test "$(cut -d' ' -f1,3 "$tmp/bars.lp" | sort | uniq -d | wc -l)" -eq 0
check "counts as floats, no i suffix" sh -c "! grep -q '[0-9]i[, ]' '$tmp/bars.lp'"
check "bar summary on stderr" grep -q "1s: 891 on close, 0 amendments, 0 late drops" "$tmp/err"
check "per-market bar counters" grep -q "BINANCE:btcusdt  *bars 345  amendments 0  late drops 0  gaps 2 (2 s)" "$tmp/err"

"$bin" replay --quiet --bars-out - "${bars_args[@]}" 2>/dev/null >"$tmp/stdout.lp"
check "--bars-out - writes the same to stdout" cmp -s "$tmp/bars.lp" "$tmp/stdout.lp"
"$bin" replay --quiet --speed 1000 --bars-out "$tmp/again.lp" "${bars_args[@]}" 2>/dev/null
check "deterministic: same bytes on another run, at another speed" cmp -s "$tmp/bars.lp" "$tmp/again.lp"
"$bin" replay --quiet --bars-out "$tmp/t.lp" --trades-out "$tmp/t2.csv" BINANCE="$trades/spot_btcusdt.gz" 2>/dev/null
check "--trades-out still works beside --bars-out" test "$(($(wc -l <"$tmp/t2.csv") - 1))" -eq 9757

"$bin" replay --quiet --bars-out - --timeframes none --no-base-volume BINANCE="$trades/spot_btcusdt.gz" \
  2>/dev/null >"$tmp/strict.lp"
check "--timeframes none: 1s bars only" test "$(grep -vc '^trades_1s,' "$tmp/strict.lp")" -eq 0
check "--timeframes none: 345 lines" test "$(wc -l <"$tmp/strict.lp")" -eq 345
check "--no-base-volume: no qbuy/qsell" sh -c "! grep -q 'qbuy\|qsell' '$tmp/strict.lp'"
check "--no-base-volume: lsell ends the fields" grep -q "lsell=0 1723161255$" "$tmp/strict.lp"
"$bin" replay --quiet --bars-out - --timeframes 1h,1m BINANCE="$trades/spot_btcusdt.gz" 2>/dev/null >"$tmp/some.lp"
check "--timeframes 1h,1m" test "$(cut -d, -f1 "$tmp/some.lp" | sort -u | tr '\n' ' ')" = "trades_1h trades_1m trades_1s "

# A late trade amends its closed bar: the corrected bar appears again with the
# same timestamp, and the last line wins. Trades (hand-written, spot shape):
# 00:00:00.100 buy 1 @ 100; 00:00:01.500 sell 1 @ 101 (closes second 0);
# then, late, 00:00:00.050 buy 2 @ 99, the second's new open. The minute is
# still open when the amendment comes, so its one line has the amended bar.
frame() { # frame RECV_NS ID PRICE QTY T_MS BUYER_IS_MAKER
  printf '%s {"stream":"btcusdt@trade","data":{"e":"trade","E":%s,"s":"BTCUSDT","t":%s,"p":"%s","q":"%s","T":%s,"m":%s,"M":true}}\n' \
    "$1" "$5" "$2" "$3" "$4" "$5" "$6"
}
{
  frame 1723161600100000000 1 100.0 1.0 1723161600100 false
  frame 1723161601500000000 2 101.0 1.0 1723161601500 true
  frame 1723161601600000000 3 99.0 2.0 1723161600050 false
} >"$tmp/late.log"
"$bin" replay --quiet --bars-out "$tmp/late.lp" --timeframes 1m BINANCE="$tmp/late.log" 2>"$tmp/err"
printf '%s\n' \
  "trades_1s,market=BINANCE:btcusdt open=100,high=100,low=100,close=100,vbuy=100,vsell=0,cbuy=1,csell=0,lbuy=0,lsell=0,qbuy=1,qsell=0 1723161600" \
  "trades_1s,market=BINANCE:btcusdt open=99,high=100,low=99,close=100,vbuy=298,vsell=0,cbuy=2,csell=0,lbuy=0,lsell=0,qbuy=3,qsell=0 1723161600" \
  "trades_1s,market=BINANCE:btcusdt open=101,high=101,low=101,close=101,vbuy=0,vsell=101,cbuy=0,csell=1,lbuy=0,lsell=0,qbuy=0,qsell=1 1723161601" \
  "trades_1m,market=BINANCE:btcusdt open=99,high=101,low=99,close=101,vbuy=298,vsell=101,cbuy=2,csell=1,lbuy=0,lsell=0,qbuy=3,qsell=1 1723161600" \
  >"$tmp/late.expected"
check "late trade: final bar, then the amended bar with the same timestamp" cmp -s "$tmp/late.lp" "$tmp/late.expected"
check "late trade: counted" grep -q "1s: 2 on close, 1 amendments, 0 late drops" "$tmp/err"

"$bin" replay --bars-out /dev/null --timeframes 1m,5x BINANCE="$spot" 2>"$tmp/err"
check "bad --timeframes: exit 2" test $? -eq 2
check "bad --timeframes: value named" grep -q "bad timeframe '5x'" "$tmp/err"
"$bin" replay --bars-out /dev/null --timeframes 1s,1m BINANCE="$spot" 2>"$tmp/err"
check "--timeframes 1s: exit 2" test $? -eq 2
"$bin" replay --bars-out - --trades-out - BINANCE="$spot" >/dev/null 2>"$tmp/err"
check "two outputs on stdout: exit 2" test $? -eq 2
check "two outputs on stdout: explained" grep -q "only one of --bars-out, --trades-out, --quotes-out and --stats-out" "$tmp/err"
"$bin" replay --bars-out /nonexistent/dir/bars.lp BINANCE="$spot" 2>"$tmp/err"
check "unwritable --bars-out: exit 2" test $? -eq 2
check "unwritable --bars-out: path named" grep -q "/nonexistent/dir/bars.lp" "$tmp/err"
"$bin" replay --bars-out /dev/null --lateness -5 BINANCE="$spot" 2>"$tmp/err"
check "negative --lateness: exit 2" test $? -eq 2

# --stats-out: flow statistics of the BTC group (BINANCE:btcusdt spot against
# both BTC perps) over the whole bundled trade captures: 347 one-second
# intervals (first trade second to last), and 7 1m, 3 5m, 2 each of
# 15m/30m/1h/4h (the 4h windows split at midnight UTC): 365 rows.
trades="$data/binance-20240808-trades"
"$bin" replay --quiet --stats-out "$tmp/stats.csv" BINANCE="$trades/spot_btcusdt.gz" \
  BINANCE_FUTURES="$trades/usdm_btcusdt.gz" BINANCE_FUTURES="$trades/cm_btcusd_perp.gz" 2>"$tmp/err"
check "--stats-out: exit 0" test $? -eq 0
check "--stats-out: header" test "$(head -1 "$tmp/stats.csv" | cut -d, -f1-10)" = "time,group,timeframe,ds,df,cvd_spot,cvd_perp,divergence,volume,close"
check "--stats-out: 365 rows" test "$(($(wc -l <"$tmp/stats.csv") - 1))" -eq 365
check "--stats-out: 347 one-second rows, all BTC" test "$(grep -c '^[0-9]*,BTC,1,' "$tmp/stats.csv")" -eq 347
check "--stats-out: 7 one-minute rows" test "$(grep -c '^[0-9]*,BTC,60,' "$tmp/stats.csv")" -eq 7
check "--stats-out: first second's spot delta" grep -q "^1723161255,BTC,1,-13023.6591685,0," "$tmp/stats.csv"
check "--stats-out: summary" grep -q "365 rows of flow statistics (1 symbol groups)" "$tmp/err"

# ---- --config: a profile's [bars] (and [influx]) settings as defaults ----------
# tuning/ sits beside tests/: the profiles are found from the data directory.
profiles="$data/../../tuning"
"$bin" replay --quiet --config "$profiles/laptop-2core.toml" --bars-out "$tmp/config.lp" "${bars_args[@]}" 2>"$tmp/err"
check "--config laptop-2core: exit 0" test $? -eq 0
# Its rollups are 1m..4h and its bar timing the defaults': the same 939 lines.
check "--config laptop-2core: its rollups, every measurement" \
  test "$(cut -d, -f1 "$tmp/config.lp" | sort -u | tr '\n' ' ')" = "trades_15m trades_1h trades_1m trades_1s trades_30m trades_4h trades_5m "
check "--config laptop-2core: the same bars as the defaults" cmp -s "$tmp/bars.lp" "$tmp/config.lp"
# A profile with other rollups: they show up; --timeframes still wins.
# (The strategy off: its timeframes, 5m to 4h, must be rollups while it is on.)
sed -e 's/^rollups = .*/rollups = ["1h", "1m"]/' -e 's/^enabled = true/enabled = false/' "$profiles/laptop-2core.toml" \
  >"$tmp/rollups.toml"
"$bin" replay --quiet --config "$tmp/rollups.toml" --bars-out - BINANCE="$trades/spot_btcusdt.gz" 2>/dev/null >"$tmp/c2.lp"
check "--config rollups = [1h, 1m]" test "$(cut -d, -f1 "$tmp/c2.lp" | sort -u | tr '\n' ' ')" = "trades_1h trades_1m trades_1s "
check "--config rollups: same bars as --timeframes 1h,1m" cmp -s "$tmp/some.lp" "$tmp/c2.lp"
"$bin" replay --quiet --config "$tmp/rollups.toml" --timeframes 5m --bars-out - BINANCE="$trades/spot_btcusdt.gz" \
  2>/dev/null >"$tmp/c3.lp"
check "--timeframes overrides the config's rollups" test "$(cut -d, -f1 "$tmp/c3.lp" | sort -u | tr '\n' ' ')" = "trades_1s trades_5m "
printf '[bars]\nlatenes_ms = 5\n' >"$tmp/bad.toml"
"$bin" replay --config "$tmp/bad.toml" --bars-out /dev/null BINANCE="$spot" 2>"$tmp/err"
check "bad config key: exit 2" test $? -eq 2
check "bad config key: file and key named" grep -q "$tmp/bad.toml:2:1: bars.latenes_ms: unknown key" "$tmp/err"
"$bin" replay --config "$tmp/missing.toml" --bars-out /dev/null BINANCE="$spot" 2>"$tmp/err"
check "missing config: exit 2, file named" sh -c "test $? -eq 2 && grep -q '$tmp/missing.toml' '$tmp/err'"
"$bin" replay --to-influx --bars-out /dev/null BINANCE="$spot" 2>"$tmp/err"
check "--to-influx without --config: exit 2" test $? -eq 2
printf '[influx]\nenabled = false\n' >"$tmp/off.toml"
"$bin" replay --config "$tmp/off.toml" --to-influx BINANCE="$spot" 2>"$tmp/err"
check "--to-influx, influx.enabled = false: exit 2" test $? -eq 2
check "--to-influx, influx.enabled = false: explained" grep -q "$tmp/off.toml says influx.enabled = false" "$tmp/err"
"$bin" replay --help >"$tmp/help"
check "--help documents --config and --to-influx" sh -c "grep -q -- '--config FILE' '$tmp/help' && grep -q -- '--to-influx' '$tmp/help'"

# ---- progress: a bar redrawn with '\r' only on a terminal, never with --quiet --
"$bin" replay --trades-out /dev/null BINANCE="$spot" 2>"$tmp/err"
check "stderr not a terminal: no '\\r' progress" sh -c "! grep -q \$(printf '\\r') '$tmp/err'"
check "stderr not a terminal: the summary" grep -q "^replay summary" "$tmp/err"
# --repeat: the capture played 3 times, each pass 360 s later (its span,
# 346 s, rounded up to a minute): 3 x the trades and 1 s bars, and the last
# bar is the single pass's last bar moved by 2 x 360 s.
"$bin" replay --quiet --repeat 3 --timeframes none --bars-out "$tmp/r3.lp" BINANCE="$trades/spot_btcusdt.gz" 2>"$tmp/err"
check "--repeat 3: exit 0" test $? -eq 0
check "--repeat 3: 3 x 9757 trades" grep -q "trades 29271 (liquidations 0)" "$tmp/err"
check "--repeat 3: 3 x 345 1s bars" grep -q "1s: 1035 on close, 0 amendments" "$tmp/err"
"$bin" replay --quiet --timeframes none --bars-out "$tmp/r1.lp" BINANCE="$trades/spot_btcusdt.gz" 2>/dev/null
check "--repeat 3: the last bar, 720 s later" sh -c "test \$(tail -1 '$tmp/r3.lp' | awk '{print \$NF}') -eq \$((\$(tail -1 '$tmp/r1.lp' | awk '{print \$NF}') + 720))"
check "--repeat 3: the last bar's fields are the pass's" sh -c "test \"\$(tail -1 '$tmp/r3.lp' | cut -d' ' -f1-2)\" = \"\$(tail -1 '$tmp/r1.lp' | cut -d' ' -f1-2)\""
"$bin" replay --repeat 0 --trades-out /dev/null BINANCE="$spot" 2>"$tmp/err"
check "--repeat 0: usage error, exit 2" test $? -eq 2
check "--repeat 0: says the range" grep -q "repeat" "$tmp/err"

if command -v script >/dev/null && script -qec true /dev/null >/dev/null 2>&1; then
  # script(1) gives the replay a pseudo-terminal (which turns "\n" into "\r\n").
  script -qec "'$bin' replay --quiet --trades-out /dev/null BINANCE='$spot'" /dev/null >"$tmp/tty.quiet"
  check "--quiet on a terminal: no progress bar" sh -c "! grep -q 'ETA' '$tmp/tty.quiet'"
  script -qec "'$bin' replay --trades-out /dev/null BINANCE='$spot'" /dev/null >"$tmp/tty"
  check "terminal: a progress bar redrawn with '\\r'" grep -q "$(printf '\r')\[####################\] 100.0%  .* frames .*ETA 0:00" "$tmp/tty"
  check "terminal: the summary starts on its own line" sh -c "tr -d '\\r' <'$tmp/tty' | grep -q '^replay summary'"
else
  echo "skip progress bar on a terminal (no script(1))"
fi

exit $((failures > 0))
