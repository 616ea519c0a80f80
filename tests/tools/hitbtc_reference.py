#!/usr/bin/env python3
"""Reference figures for the hand-written HitBTC ws v3 fixture.

An independent, deliberately simple re-implementation (standard library only)
of what feeds/hitbtc_parser.cc must find, used by tests/unit/feeds/hitbtc_test.cc.

Usage: hitbtc_reference.py tests/data/fixtures/hitbtc.txt
Counts "<recv_ns> <frame>" lines. Trades: "trades" frames with "update"
(every symbol, in order); "snapshot" frames are history; result/error replies
are control; "orderbook/*" is book; other channels are other. Prints
key=value lines.
"""
import json
import re
import sys


def main(path):
    line_re = re.compile(r"^(\d{16,}) (.*)$")
    out = dict(frames=0, trades=0, taker_buys=0, skip_control=0, skip_book=0, skip_other=0, skip_snapshot=0,
               skip_filtered=0, errors=0)
    sum_qty = sum_notional = 0.0
    first = last = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = line_re.match(line.rstrip("\n"))
            if not m:
                continue
            out["frames"] += 1
            msg = json.loads(m.group(2))
            ch = msg.get("ch")
            if ch is None:
                out["skip_control"] += 1
            elif ch.startswith("orderbook"):
                out["skip_book"] += 1
            elif ch != "trades":
                out["skip_other"] += 1
            elif "snapshot" in msg:
                out["skip_snapshot"] += 1
            else:
                for trades in msg["update"].values():
                    for t in trades:
                        price, qty = float(t["p"]), float(t["q"])
                        out["trades"] += 1
                        out["taker_buys"] += t["s"] == "buy"
                        sum_qty += qty
                        sum_notional += price * qty
                        first = first or t
                        last = t
    for key, value in out.items():
        print(f"{key}={value}")
    print(f"first_id={first['i']}")
    print(f"last_id={last['i']}")
    print(f"first_ts_ns={first['t'] * 1000000}")
    print(f"last_ts_ns={last['t'] * 1000000}")
    print(f"sum_qty={sum_qty!r}")
    print(f"sum_notional={sum_notional!r}")


if __name__ == "__main__":
    main(sys.argv[1])
