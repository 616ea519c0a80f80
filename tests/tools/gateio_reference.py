#!/usr/bin/env python3
"""Reference figures for a Gate.io v4 cryptofeed capture (spot or futures).

An independent, deliberately simple re-implementation (stdlib json/gzip only)
of what feeds/gateio_parser.cc must find, used by
tests/unit/feeds/gateio_test.cc.

Usage: gateio_reference.py <capture.gz | fixture.txt>
Prints key=value lines:
  frames                  received frames ("<seconds>: <frame>" lines)
  trades                  spot.trades / futures.trades update results
                          (futures trades flagged is_internal are left out),
                          and futures.public_liquidates entries
  liquidations            those public_liquidates entries
  taker_buys              spot side "buy"; futures size > 0
  first_id/last_id        id of the first and last trade, in file order
  first_ts_ns/last_ts_ns  create_time_ms (a decimal string of ms on spot),
                          in ns, the fraction kept to the ns
  sum_qty, sum_notional   base quantity (spot amount; futures |size| x
                          quanto_multiplier, listed below) and price x it
  markets                 GATEIO:<currency_pair>-SPOT, GATEIO:<contract>
  skip_control            subscribe/unsubscribe acks, *.pong
  skip_book               *order_book*, *book_ticker channels
  skip_other              any other channel (tickers, candlesticks)
"""
import gzip
import json
import re
import sys

QUANTO = {"BTC_USDT": 0.0001, "ETH_USDT": 0.01}


def ts_ns(value):
    text = str(value)
    whole, _, frac = text.partition(".")
    frac = (frac + "000000")[:6]
    return int(whole) * 1000000 + int(frac)


def main(path):
    # cryptofeed "<seconds>: <frame>" and fixture "<recv_ns> <frame>" lines.
    received = re.compile(r"^\d+(?:(?:\.\d+)?: | )(.*)$")
    out = dict(frames=0, trades=0, liquidations=0, taker_buys=0, skip_control=0, skip_snapshot=0, skip_book=0, skip_other=0,
               skip_filtered=0, errors=0)
    sum_qty = 0.0
    sum_notional = 0.0
    first = last = None
    markets = {}

    def add(name, tid, ts, price, qty, buy):
        nonlocal sum_qty, sum_notional, first, last
        out["trades"] += 1
        out["taker_buys"] += buy
        sum_qty += qty
        sum_notional += price * qty
        if first is None:
            first = (tid, ts)
        last = (tid, ts)
        markets[name] = markets.get(name, 0) + 1

    with (gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path, encoding="utf-8")) as f:
        for line in f:
            m = received.match(line.rstrip("\n"))
            if not m:
                continue
            out["frames"] += 1
            msg = json.loads(m.group(1))
            channel = msg["channel"]
            if channel.endswith(".pong") or msg.get("event") != "update":
                out["skip_control"] += 1
            elif channel == "spot.trades":
                t = msg["result"]
                add("GATEIO:" + t["currency_pair"] + "-SPOT", t["id"], ts_ns(t["create_time_ms"]),
                    float(t["price"]), float(t["amount"]), t["side"] == "buy")
            elif channel == "futures.trades":
                for t in msg["result"]:
                    if t.get("is_internal"):
                        continue
                    size = float(t["size"])
                    add("GATEIO:" + t["contract"], t["id"], ts_ns(t["create_time_ms"]), float(t["price"]),
                        abs(size) * QUANTO[t["contract"]], size > 0)
            elif channel == "futures.public_liquidates":
                # size: the liquidation order's signed contracts (< 0: a sell,
                # a long liquidated); no id.
                for t in msg["result"]:
                    size = float(t["size"])
                    out["liquidations"] += 1
                    add("GATEIO:" + t["contract"], 0, int(t["time_ms"]) * 1000000, float(t["price"]),
                        abs(size) * QUANTO[t["contract"]], size > 0)
            elif "order_book" in channel or "book_ticker" in channel:
                out["skip_book"] += 1
            else:
                out["skip_other"] += 1
    for key, value in out.items():
        print(f"{key}={value}")
    if first is not None:
        print(f"first_id={first[0]}")
        print(f"last_id={last[0]}")
        print(f"first_ts_ns={first[1]}")
        print(f"last_ts_ns={last[1]}")
    else:
        print("first_id=0\nlast_id=0\nfirst_ts_ns=0\nlast_ts_ns=0")
    print(f"sum_qty={sum_qty!r}")
    print(f"sum_notional={sum_notional!r}")
    print("markets=" + ",".join(f"{k}:{v}" for k, v in sorted(markets.items())))


if __name__ == "__main__":
    main(sys.argv[1])
