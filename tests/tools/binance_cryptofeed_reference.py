#!/usr/bin/env python3
"""Reference figures for Binance captures in the cryptofeed format
(../shared/data/cryptofeed/BINANCE*.ws.1.0.gz), for
tests/integration/replay_cryptofeed_test.cc. Standard library only.

Usage: binance_cryptofeed_reference.py <capture.gz>

Lines are "<float seconds>: <frame>" (received), "<url> <- <seconds>: <msg>"
(sent) or "<url> <-> <seconds>" (connected); only received frames count.
A trade is a "trade" or "aggTrade" event (the parser takes either); the
taker bought when "m" (buyer is maker) is false. COIN-M quantities
(symbols with an underscore: BTCUSD_PERP, ETHUSD_211231) are contracts of
100 USD (BTC) or 10 USD (the others): base = q * contract / p. Prints
key=value lines: trades, taker_buys, sum_qty, liquidations (forceOrder).
"""
import gzip
import json
import re
import sys

RECEIVED = re.compile(r"^(\d+(?:\.\d+)?): (.*)$")


def main(path):
    trades = buys = liquidations = 0
    sum_qty = 0.0
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            m = RECEIVED.match(line.rstrip("\n"))
            if not m:
                continue
            try:
                msg = json.loads(m.group(2))
            except ValueError:
                continue
            data = msg.get("data", msg) if isinstance(msg, dict) else None
            if not isinstance(data, dict):
                continue
            event = data.get("e")
            if event == "forceOrder":
                liquidations += 1
                continue
            if event not in ("trade", "aggTrade"):
                continue
            symbol, p, q = data["s"], float(data["p"]), float(data["q"])
            if "_" in symbol:
                contract = 100.0 if symbol.startswith("BTCUSD") else 10.0
                q = q * contract / p
            trades += 1
            buys += 0 if data["m"] else 1
            sum_qty += q
    print("trades=%d" % trades)
    print("taker_buys=%d" % buys)
    print("sum_qty=%r" % sum_qty)
    print("liquidations=%d" % liquidations)


if __name__ == "__main__":
    main(sys.argv[1])
