#!/usr/bin/env python3
"""Reference figures for Hyperliquid frames (recorder lines "<ns> <frame>").

An independent, deliberately simple re-implementation (stdlib json/gzip only)
of what feeds/hyperliquid_parser.cc must find, used by
tests/unit/feeds/hyperliquid_test.cc on the hand-written fixture
tests/data/fixtures/hyperliquid.txt.

Usage: hyperliquid_reference.py <file[.gz]>
Prints key=value lines:
  frames                 frames (lines "<ns> <frame>")
  trades                 trades of "trades" frames, snapshots excepted
  skip_snapshot          the first "trades" frame of a coin after its
                         subscriptionResponse (recent trades: history)
  taker_buys             trades with side "B"
  first_id/last_id       tid of the first and last trade
  first_ts_ns/last_ts_ns their time * 1e6
  sum_qty, sum_notional  sums of sz and px * sz
  skip_control           subscriptionResponse, pong, error
  skip_book              l2Book, bbo
  skip_other             any other channel
"""
import gzip
import json
import re
import sys


def main(path):
    received = re.compile(r"^(\d+) (.*)$")
    out = dict(frames=0, trades=0, taker_buys=0, skip_snapshot=0, skip_control=0, skip_book=0,
               skip_other=0, skip_filtered=0, errors=0, liquidations=0)
    sum_qty = 0.0
    sum_notional = 0.0
    first = last = None
    armed = set()
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            m = received.match(line.rstrip("\n"))
            if not m:
                continue
            out["frames"] += 1
            msg = json.loads(m.group(2))
            channel = msg["channel"]
            if channel == "subscriptionResponse":
                sub = msg["data"]["subscription"]
                if msg["data"]["method"] == "subscribe" and sub["type"] == "trades":
                    armed.add(sub["coin"])
                out["skip_control"] += 1
            elif channel in ("pong", "error"):
                out["skip_control"] += 1
            elif channel in ("l2Book", "bbo"):
                out["skip_book"] += 1
            elif channel != "trades":
                out["skip_other"] += 1
            elif msg["data"][0]["coin"] in armed:
                armed.discard(msg["data"][0]["coin"])
                out["skip_snapshot"] += 1
            else:
                for t in msg["data"]:
                    px, sz = float(t["px"]), float(t["sz"])
                    sum_qty += sz
                    sum_notional += px * sz
                    out["trades"] += 1
                    out["taker_buys"] += t["side"] == "B"
                    if first is None:
                        first = t
                    last = t
    for key, value in out.items():
        print(f"{key}={value}")
    print(f"first_id={first['tid']}")
    print(f"last_id={last['tid']}")
    print(f"first_ts_ns={int(first['time']) * 1_000_000}")
    print(f"last_ts_ns={int(last['time']) * 1_000_000}")
    print(f"sum_qty={sum_qty!r}")
    print(f"sum_notional={sum_notional!r}")


if __name__ == "__main__":
    main(sys.argv[1])
