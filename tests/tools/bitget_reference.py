#!/usr/bin/env python3
"""Reference figures for a Bitget cryptofeed capture (ws v1 or v2 frames).

An independent, deliberately simple re-implementation (stdlib json/gzip only)
of what feeds/bitget_parser.cc must find, used by
tests/unit/feeds/bitget_test.cc.

Usage: bitget_reference.py <capture.gz | fixture.txt>
Prints key=value lines:
  frames                  received frames ("<seconds>: <frame>" lines)
  trades                  trades in channel "trade" frames whose action is not
                          "snapshot" (v1 rows [ts, price, size, side], v2 objects)
  taker_buys              those with side "buy"
  first_ts_ns/last_ts_ns  ts (ms) of the first and last, in ns
  sum_qty, sum_notional   sum of size (base) and of price * size
  markets                 per market name, BITGET:<instId>-SPOT for spot
                          instTypes (sp, SPOT), BITGET:<instId> otherwise
  skip_control            {"event":..} frames, "pong"
  skip_snapshot           trade frames with action "snapshot"
  skip_book               books* channels
  skip_other              any other channel (ticker, candle1m)
"""
import gzip
import json
import re
import sys


def main(path):
    # cryptofeed "<seconds>: <frame>" and fixture "<recv_ns> <frame>" lines.
    received = re.compile(r"^\d+(?:(?:\.\d+)?: | )(.*)$")
    out = dict(frames=0, trades=0, taker_buys=0, skip_control=0, skip_snapshot=0, skip_book=0, skip_other=0,
               skip_filtered=0, errors=0)
    sum_qty = 0.0
    sum_notional = 0.0
    first_ts = last_ts = None
    markets = {}
    with (gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path, encoding="utf-8")) as f:
        for line in f:
            m = received.match(line.rstrip("\n"))
            if not m:
                continue
            out["frames"] += 1
            text = m.group(1)
            if text in ("pong", "ping"):
                out["skip_control"] += 1
                continue
            msg = json.loads(text)
            if "event" in msg:
                out["skip_control"] += 1
                continue
            arg = msg["arg"]
            channel = arg["channel"]
            if channel == "trade":
                if msg["action"] == "snapshot":
                    out["skip_snapshot"] += 1
                    continue
                spot = arg["instType"] in ("sp", "SP", "SPOT", "spot")
                name = "BITGET:" + arg["instId"] + ("-SPOT" if spot else "")
                for t in msg["data"]:
                    if isinstance(t, list):
                        ts, price, size, side = int(t[0]), float(t[1]), float(t[2]), t[3]
                    else:
                        ts, price, size, side = int(t["ts"]), float(t["price"]), float(t["size"]), t["side"]
                    out["trades"] += 1
                    out["taker_buys"] += side == "buy"
                    sum_qty += size
                    sum_notional += price * size
                    if first_ts is None:
                        first_ts = ts
                    last_ts = ts
                    markets[name] = markets.get(name, 0) + 1
            elif channel.startswith("books"):
                out["skip_book"] += 1
            else:
                out["skip_other"] += 1
    for key, value in out.items():
        print(f"{key}={value}")
    print(f"first_ts_ns={first_ts * 1000000}")
    print(f"last_ts_ns={last_ts * 1000000}")
    print(f"sum_qty={sum_qty!r}")
    print(f"sum_notional={sum_notional!r}")
    print("markets=" + ",".join(f"{k}:{v}" for k, v in sorted(markets.items())))


if __name__ == "__main__":
    main(sys.argv[1])
