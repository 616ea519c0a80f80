#!/usr/bin/env python3
"""Reference figures for an Aster (Binance USD-M clone) capture or fixture,
computed the simple way (stdlib only: json, gzip), independently of
feeds/binance_parser.cc, for tests/unit/feeds/aster_test.cc and
tests/unit/feeds/binance_us_test.cc (both venues speak Binance's format).

Usage: binance_fixture_reference.py <file>   (plain or gzip `<recv_ns> <frame>` lines;
'#' lines are comments)

Rules: aggTrade and trade events are trades (q is base, m = buyer is maker ->
taker sold, time T, id a / t); forceOrder is a liquidation (side S, q base,
price ap when non-zero else p, time o.T); frames with "result" or "code" are
control; depth* streams are book; anything else is other.
"""
import gzip
import json
import sys


def main():
    out = {k: 0 for k in ("frames", "trades", "liquidations", "taker_buys", "first_id", "last_id", "first_ts_ns",
                          "last_ts_ns", "skip_control", "skip_book", "skip_other", "skip_snapshot", "skip_filtered",
                          "errors")}
    sum_qty = sum_notional = 0.0
    path = sys.argv[1]
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            _, body = line.split(" ", 1)
            out["frames"] += 1
            msg = json.loads(body)
            if "result" in msg or "code" in msg:
                out["skip_control"] += 1
                continue
            data = msg.get("data", msg)
            event = data.get("e")
            if event in ("aggTrade", "trade"):
                price, qty, ts = float(data["p"]), float(data["q"]), data["T"] * 10**6
                buy = not data["m"]
                tid = data["a"] if event == "aggTrade" else data["t"]
                liq = False
            elif event == "forceOrder":
                o = data["o"]
                price = float(o["ap"]) if float(o["ap"]) > 0 else float(o["p"])
                qty, ts, buy, tid, liq = float(o["q"]), o["T"] * 10**6, o["S"] == "BUY", None, True
            elif event == "depthUpdate":
                out["skip_book"] += 1
                continue
            else:
                out["skip_other"] += 1
                continue
            out["trades"] += 1
            out["liquidations"] += 1 if liq else 0
            out["taker_buys"] += 1 if buy else 0
            if out["trades"] == 1:
                out["first_ts_ns"], out["first_id"] = ts, tid
            out["last_ts_ns"] = ts
            if tid is not None:
                out["last_id"] = tid  # the last aggTrade id (liquidations have none)
            sum_qty += qty
            sum_notional += qty * price
    for key, value in out.items():
        print(key, value)
    print("sum_qty %.17g" % sum_qty)
    print("sum_notional %.17g" % sum_notional)


main()
