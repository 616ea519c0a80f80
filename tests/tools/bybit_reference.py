#!/usr/bin/env python3
"""Reference figures for a Bybit v2 cryptofeed capture (trade.* topic).

An independent, deliberately simple re-implementation (stdlib json/gzip only)
of what feeds/bybit_parser.cc must find, used by tests/unit/feeds/bybit_test.cc.

Usage: bybit_reference.py <capture.gz>
Prints key=value lines:
  frames            received frames ("<seconds>: <frame>" lines)
  trades            trades in trade.* frames
  first_id/last_id  64-bit hash (word-wise multiply + murmur3 finalizer, as hash_trade_id) of the first and
                    last trade_id uuid, in file order
  first_ts_ms/last_ts_ms  trade_time_ms of those trades
  sum_qty           sum of base quantities: size for USDT symbols (linear),
                    size / price for USD symbols (inverse)
  sum_notional      sum of price * base quantity
  taker_buys        trades with side == "Buy"
  skip_control      frames without a topic ({"success":..} acks, {"op":..})
  skip_book         orderBook* topics
  skip_other        any other topic
"""
import gzip
import json
import re
import sys

MASK = (1 << 64) - 1


def hash_trade_id(text):
    """tickflow's hash_trade_id (feeds/json_support.h): one multiply per 8-byte little-endian word."""
    data = text.encode() if isinstance(text, str) else text
    mask = (1 << 64) - 1
    mul = 0xFF51AFD7ED558CCD
    h = 0x9E3779B97F4A7C15 ^ ((len(data) * mul) & mask)
    for i in range(0, len(data), 8):
        h = ((h ^ int.from_bytes(data[i:i + 8], "little")) * mul) & mask
        h ^= h >> 32
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & mask
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & mask
    h ^= h >> 33
    return h


def base_qty(symbol, size, price):
    if symbol.endswith("USDT"):
        return size
    if symbol.endswith("USD"):
        return size / price
    raise ValueError("unexpected symbol " + symbol)


def main(path):
    received = re.compile(r"^\d+(\.\d+)?: (.*)$")
    out = dict(frames=0, trades=0, taker_buys=0, skip_control=0, skip_book=0, skip_other=0)
    sum_qty = 0.0
    sum_notional = 0.0
    first = last = None
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            m = received.match(line.rstrip("\n"))
            if not m:
                continue  # sent frames, connection events, blank lines
            out["frames"] += 1
            msg = json.loads(m.group(2))
            topic = msg.get("topic")
            if topic is None:
                assert "success" in msg or "op" in msg
                out["skip_control"] += 1
            elif topic.startswith("trade."):
                for t in msg["data"]:
                    price = float(t["price"])
                    qty = base_qty(t["symbol"], float(t["size"]), price)
                    sum_qty += qty
                    sum_notional += price * qty
                    out["trades"] += 1
                    out["taker_buys"] += t["side"] == "Buy"
                    if first is None:
                        first = t
                    last = t
            elif topic.startswith("orderBook") or topic.startswith("orderbook"):
                out["skip_book"] += 1
            else:
                out["skip_other"] += 1
    for key, value in out.items():
        print(f"{key}={value}")
    print(f"first_id={hash_trade_id(first['trade_id'])}")
    print(f"last_id={hash_trade_id(last['trade_id'])}")
    print(f"first_ts_ms={int(first['trade_time_ms'])}")
    print(f"last_ts_ms={int(last['trade_time_ms'])}")
    print(f"sum_qty={sum_qty!r}")
    print(f"sum_notional={sum_notional!r}")


if __name__ == "__main__":
    main(sys.argv[1])
