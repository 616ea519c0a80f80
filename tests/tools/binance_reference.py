#!/usr/bin/env python3
"""Independent reference figures for a Binance capture (tests/unit/feeds/binance_test.cc).

Reads `<recv_ns> <frame>` lines with the json module only, and prints one
`key value` line per figure. Counts only `trade` events (not aggTrade), as
../shared/data/README.md does. COIN-M quantities (symbols ending in
usd_perp / usd_YYMMDD) are contracts: base = q * contract_usd / p.
"""
import gzip
import json
import sys

CONTRACT_USD = {"BTCUSD_PERP": 100.0, "ETHUSD_PERP": 10.0}

path = sys.argv[1]
trades = buys = book_ticker = skipped = 0
first_id = last_id = None
sum_q = sum_base = sum_notional = 0.0
with gzip.open(path, "rt") as f:
    for line in f:
        _, frame = line.rstrip("\n").split(" ", 1)
        msg = json.loads(frame)
        data = msg.get("data", msg)
        event = data.get("e")
        if event == "trade":
            p, q = float(data["p"]), float(data["q"])
            size = CONTRACT_USD.get(data["s"])
            base = q * size / p if size else q
            trades += 1
            buys += 0 if data["m"] else 1
            first_id = data["t"] if first_id is None else first_id
            last_id = data["t"]
            sum_q += q
            sum_base += base
            sum_notional += base * p
        elif event == "bookTicker" or (event is None and "u" in data and "b" in data):
            book_ticker += 1
        else:
            skipped += 1
print("trades", trades)
print("taker_buys", buys)
print("first_id", first_id)
print("last_id", last_id)
print("sum_q %.17g" % sum_q)
print("sum_base %.17g" % sum_base)
print("sum_notional %.17g" % sum_notional)
print("book_ticker", book_ticker)
print("skipped", skipped)
