#!/usr/bin/env python3
"""Reference figures for the hand-written Crypto.com Exchange v1 fixture.

An independent, deliberately simple re-implementation (standard library only)
of what feeds/cryptocom_parser.cc must find, used by
tests/unit/feeds/cryptocom_test.cc.

Usage: cryptocom_reference.py tests/data/fixtures/cryptocom.txt
Counts "<recv_ns> <frame>" lines. Trades: result.channel "trade" pushes
(id -1); the reply to a subscribe request (id >= 0) carrying data is a
snapshot. Heartbeats, acks and errors (code != 0) are control; "book*" is
book. q is base for spot and perpetuals. Prints key=value lines.
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
            result = msg.get("result")
            if msg.get("code", 0) != 0 or result is None:
                out["skip_control"] += 1
                continue
            channel = result["channel"]
            if channel.startswith("book"):
                out["skip_book"] += 1
            elif channel != "trade":
                out["skip_other"] += 1
            elif msg["id"] >= 0:
                out["skip_snapshot"] += 1
            else:
                for t in result["data"]:
                    price, qty = float(t["p"]), float(t["q"])
                    out["trades"] += 1
                    out["taker_buys"] += t["s"] == "BUY"
                    sum_qty += qty
                    sum_notional += price * qty
                    first = first or t
                    last = t
    for key, value in out.items():
        print(f"{key}={value}")
    print(f"first_id={int(first['d'])}")
    print(f"last_id={int(last['d'])}")
    print(f"first_ts_ns={first['t'] * 1000000}")
    print(f"last_ts_ns={last['t'] * 1000000}")
    print(f"sum_qty={sum_qty!r}")
    print(f"sum_notional={sum_notional!r}")


if __name__ == "__main__":
    main(sys.argv[1])
