#!/usr/bin/env python3
"""Reference figures for a dYdX cryptofeed capture (v3) or fixture (v4).

An independent, deliberately simple re-implementation (stdlib json/gzip only)
of what feeds/dydx_parser.cc must find, used by tests/unit/feeds/dydx_test.cc.

Usage: dydx_reference.py <capture.gz | fixture.txt>
Reads cryptofeed lines ("<seconds>: <frame>") and recorder lines
("<ns> <frame>"); other lines (frames the client sent) are not frames.
Prints key=value lines:
  frames                 received frames
  trades                 trades in channel_data / channel_batch_data frames
                         of v3_trades / v4_trades
  liquidations           trades with liquidation: true (v3) or type
                         LIQUIDATED / DELEVERAGED (v4)
  taker_buys             trades with side BUY
  first_ts_ns/last_ts_ns createdAt of the first and last trade (exact ns)
  sum_qty                sum of size (perpetuals: base units)
  sum_notional           sum of price * size
  skip_snapshot          "subscribed" frames of a trades channel
  skip_book              frames of an orderbook channel
  skip_control           connected / unsubscribed / error / pong
  skip_other             frames of any other channel
"""
import calendar
import gzip
import json
import re
import sys
import time


def iso_ns(text):
    # "2021-10-28T18:03:51.833Z" -> integer ns, digit by digit.
    assert text.endswith("Z")
    whole, _, frac = text[:-1].partition(".")
    seconds = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
    return seconds * 1_000_000_000 + int((frac + "000000000")[:9])


def main(path):
    received = re.compile(r"^(\d+\.\d+): (.*)$|^(\d+) (.*)$")
    out = dict(frames=0, trades=0, liquidations=0, taker_buys=0, skip_snapshot=0, skip_book=0,
               skip_control=0, skip_other=0, skip_filtered=0, errors=0)
    sum_qty = 0.0
    sum_notional = 0.0
    first = last = None
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            m = received.match(line.rstrip("\n"))
            if not m:
                continue
            out["frames"] += 1
            msg = json.loads(m.group(2) if m.group(2) is not None else m.group(4))
            kind = msg["type"]
            if kind in ("connected", "unsubscribed", "error", "pong"):
                out["skip_control"] += 1
                continue
            channel = msg["channel"]
            if channel.endswith("_orderbook"):
                out["skip_book"] += 1
                continue
            if not channel.endswith("_trades"):
                out["skip_other"] += 1
                continue
            if kind == "subscribed":
                out["skip_snapshot"] += 1
                continue
            batches = msg["contents"] if kind == "channel_batch_data" else [msg["contents"]]
            for batch in batches:
                for t in batch["trades"]:
                    px = float(t["price"])
                    qty = float(t["size"])
                    sum_qty += qty
                    sum_notional += px * qty
                    out["trades"] += 1
                    out["taker_buys"] += t["side"] == "BUY"
                    out["liquidations"] += bool(t.get("liquidation")) or t.get("type") in ("LIQUIDATED", "DELEVERAGED")
                    if first is None:
                        first = t
                    last = t
    for key, value in out.items():
        print(f"{key}={value}")
    print(f"first_ts_ns={iso_ns(first['createdAt'])}")
    print(f"last_ts_ns={iso_ns(last['createdAt'])}")
    print(f"sum_qty={sum_qty!r}")
    print(f"sum_notional={sum_notional!r}")


if __name__ == "__main__":
    main(sys.argv[1])
