#!/usr/bin/env python3
"""Reference figures for Poloniex v3 frames in tickflow's "<recv_ns> <frame>"
format (the hand-written fixture tests/data/fixtures/poloniex.txt).

An independent, deliberately simple re-implementation (stdlib json only) of
what feeds/poloniex_parser.cc must find, used by
tests/unit/feeds/poloniex_test.cc.

Usage: poloniex_reference.py <file>
Prints key=value lines:
  frames                  frame lines ("<digits> <frame>"; '#' lines are not frames)
  trades                  elements of "trades" channel data arrays
  first_id/last_id        `id` of the first and last trade, in file order
  first_ts_ns/last_ts_ns  their createTime (ms) in ns
  sum_qty, sum_notional   sum of quantity (base) and of price * quantity
  taker_buys              trades with takerSide == "buy"
  skip_control            {"event":..} frames
  skip_book               book* channels
  skip_other              other channels
  skip_snapshot, skip_filtered, errors   0 for the fixture
"""
import json
import re
import sys


def main(path):
    frame_line = re.compile(r"^(\d+) (.*)$")
    out = dict(frames=0, trades=0, taker_buys=0, skip_control=0, skip_book=0, skip_other=0,
               skip_snapshot=0, skip_filtered=0, errors=0)
    sum_qty = 0.0
    sum_notional = 0.0
    first = last = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = frame_line.match(line.rstrip("\n"))
            if not m:
                continue
            out["frames"] += 1
            msg = json.loads(m.group(2))
            if "event" in msg:
                out["skip_control"] += 1
                continue
            channel = msg["channel"]
            if channel == "trades":
                for t in msg["data"]:
                    qty = float(t["quantity"])
                    price = float(t["price"])
                    sum_qty += qty
                    sum_notional += price * qty
                    out["trades"] += 1
                    out["taker_buys"] += t["takerSide"] == "buy"
                    if first is None:
                        first = t
                    last = t
            elif channel.startswith("book"):
                out["skip_book"] += 1
            else:
                out["skip_other"] += 1
    for key, value in out.items():
        print(f"{key}={value}")
    print(f"first_id={int(first['id'])}")
    print(f"last_id={int(last['id'])}")
    print(f"first_ts_ns={int(first['createTime']) * 1000000}")
    print(f"last_ts_ns={int(last['createTime']) * 1000000}")
    print(f"sum_qty={sum_qty!r}")
    print(f"sum_notional={sum_notional!r}")


if __name__ == "__main__":
    main(sys.argv[1])
