#!/usr/bin/env python3
"""Reference figures for a Bitunix futures capture or fixture, computed the
simple way (stdlib only: json, calendar, gzip), independently of
feeds/bitunix_parser.cc, for tests/unit/feeds/bitunix_test.cc.

Usage: bitunix_reference.py <file>   (plain text or gzip; `<recv_ns> <frame>`
lines; lines starting with '#' are comments)

Rules (re-implemented from aggr-server's bitunix.js and Bitunix's docs):
frames with "op" (connect, ping, subscribe) or "code" are control; ch "trade"
carries trades, but the first trade frame of each symbol after a connect is
history (snapshot); ch depth* is book; other channels are other. v is base,
s the taker side, t ISO 8601 (ns exact) or ms.
"""
import calendar
import gzip
import json
import sys


def iso_ns(text):
    date, clock = text.rstrip("Z").split("T")
    whole, _, frac = clock.partition(".")
    seconds = calendar.timegm(tuple(int(x) for x in date.split("-")) + tuple(int(x) for x in whole.split(":")))
    return seconds * 10**9 + int((frac + "000000000")[:9])


def main():
    out = {k: 0 for k in ("frames", "trades", "liquidations", "taker_buys", "first_ts_ns", "last_ts_ns",
                          "skip_control", "skip_book", "skip_other", "skip_snapshot", "skip_filtered", "errors")}
    sum_qty = sum_notional = 0.0
    seen = set()
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
            if "ch" not in msg:
                if msg.get("op") == "connect":
                    seen.clear()
                out["skip_control"] += 1
                continue
            if msg["ch"] != "trade":
                out["skip_book" if msg["ch"].startswith("depth") else "skip_other"] += 1
                continue
            if msg["symbol"] not in seen:
                seen.add(msg["symbol"])
                out["skip_snapshot"] += 1
                continue
            for t in msg["data"]:
                ts = iso_ns(t["t"]) if isinstance(t["t"], str) else t["t"] * 10**6
                price, qty = float(t["p"]), float(t["v"])
                out["trades"] += 1
                out["taker_buys"] += 1 if t["s"] == "buy" else 0
                if out["trades"] == 1:
                    out["first_ts_ns"] = ts
                out["last_ts_ns"] = ts
                sum_qty += qty
                sum_notional += qty * price
    for key, value in out.items():
        print(key, value)
    print("sum_qty %.17g" % sum_qty)
    print("sum_notional %.17g" % sum_notional)


main()
