#!/usr/bin/env bash
# tests/cli/replay_test.sh TICKFLOW_BINARY DATA_DIR
# `tickflow replay` end to end, over the bundled Binance subsets: CSV shape,
# exact row counts (676 spot + 569 USD-M trades, from binance_reference.py),
# the merge by receive time, pacing, and every user error's exit code and message.
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

exit $((failures > 0))
