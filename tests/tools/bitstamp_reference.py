#!/usr/bin/env python3
"""Reference figures for a Bitstamp cryptofeed capture.

An independent, deliberately simple re-implementation (stdlib json/gzip only)
of what feeds/bitstamp_parser.cc must find, used by
tests/unit/feeds/bitstamp_test.cc.

Usage: bitstamp_reference.py <capture.gz>
Prints key=value lines:
  frames                 received frames ("<seconds>: <frame>" lines)
  trades                 "trade" events on live_trades_* channels
  taker_buys             trades with type 0
  first_id/last_id       id of the first and last trade, in file order
  first_ts_ns/last_ts_ns their microtimestamp * 1000
  sum_qty                sum of amount (spot: base units)
  sum_notional           sum of price * amount
  skip_control           bts:* events (acks, heartbeats, reconnect requests)
  skip_book              order_book_* / detail_order_book_* / diff_order_book_* channels
  skip_other             any other channel
  per_market             trades per market name, "BITSTAMP:<pair>:<n>" comma-separated
"""
import gzip
import json
import re
import sys


def main(path):
    received = re.compile(r"^\d+(\.\d+)?: (.*)$")
    out = dict(frames=0, trades=0, taker_buys=0, skip_control=0, skip_book=0, skip_other=0,
               skip_snapshot=0, skip_filtered=0, errors=0)
    sum_qty = 0.0
    sum_notional = 0.0
    first = last = None
    per_market = {}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            m = received.match(line.rstrip("\n"))
            if not m:
                continue
            out["frames"] += 1
            msg = json.loads(m.group(2))
            if msg["event"].startswith("bts:"):
                out["skip_control"] += 1
                continue
            channel = msg["channel"]
            if channel.startswith(("order_book_", "detail_order_book_", "diff_order_book_")):
                out["skip_book"] += 1
                continue
            if not channel.startswith("live_trades_"):
                out["skip_other"] += 1
                continue
            t = msg["data"]
            market = "BITSTAMP:" + channel[len("live_trades_"):]
            per_market[market] = per_market.get(market, 0) + 1
            sum_qty += float(t["amount"])
            sum_notional += float(t["price"]) * float(t["amount"])
            out["trades"] += 1
            out["taker_buys"] += t["type"] == 0
            if first is None:
                first = t
            last = t
    for key, value in out.items():
        print(f"{key}={value}")
    print(f"first_id={first['id']}")
    print(f"last_id={last['id']}")
    print(f"first_ts_ns={int(first['microtimestamp']) * 1000}")
    print(f"last_ts_ns={int(last['microtimestamp']) * 1000}")
    print(f"sum_qty={sum_qty!r}")
    print(f"sum_notional={sum_notional!r}")
    print("per_market=" + ",".join(f"{k}:{v}" for k, v in sorted(per_market.items())))


if __name__ == "__main__":
    main(sys.argv[1])
