#!/usr/bin/env python3
"""Reference figures for a KuCoin spot cryptofeed capture (/market/match).

An independent, deliberately simple re-implementation (stdlib json/gzip only)
of what feeds/kucoin_parser.cc must find, used by
tests/unit/feeds/kucoin_test.cc.

Usage: kucoin_reference.py <capture.gz>
Prints key=value lines:
  frames                  received frames ("<seconds>: <frame>" lines)
  trades                  "message" frames on /market/match:* topics
  first_id/last_id        their `sequence`, first and last in file order
  first_ts_ns/last_ts_ns  their `time` (ns)
  sum_qty, sum_notional   sum of size (base) and of price * size
  taker_buys              trades with side == "buy"
  skip_control            frames whose type is not "message" (welcome, ack)
  skip_book               /market/level2* topics
  skip_other              other topics (ticker, candles)
  skip_snapshot, skip_filtered, errors   always 0 for this capture
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
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            m = received.match(line.rstrip("\n"))
            if not m:
                continue
            out["frames"] += 1
            msg = json.loads(m.group(2))
            if msg["type"] != "message":
                out["skip_control"] += 1
                continue
            topic = msg["topic"]
            if topic.startswith("/market/match:"):
                d = msg["data"]
                size = float(d["size"])
                price = float(d["price"])
                sum_qty += size
                sum_notional += price * size
                out["trades"] += 1
                out["taker_buys"] += d["side"] == "buy"
                if first is None:
                    first = d
                last = d
            elif topic.startswith("/market/level2"):
                out["skip_book"] += 1
            else:
                out["skip_other"] += 1
    for key, value in out.items():
        print(f"{key}={value}")
    print(f"first_id={int(first['sequence'])}")
    print(f"last_id={int(last['sequence'])}")
    print(f"first_ts_ns={int(first['time'])}")
    print(f"last_ts_ns={int(last['time'])}")
    print(f"sum_qty={sum_qty!r}")
    print(f"sum_notional={sum_notional!r}")


if __name__ == "__main__":
    main(sys.argv[1])
