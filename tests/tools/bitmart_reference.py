#!/usr/bin/env python3
"""Reference figures for a BitMart capture or fixture (spot and futures),
computed the simple way (stdlib only: json, zlib, ast.literal_eval, calendar),
independently of feeds/bitmart_parser.cc, for tests/unit/feeds/bitmart_test.cc.

Usage: bitmart_reference.py <file>   (plain text or gzip)

Lines: `<recv_ns> <frame>`, or `<seconds>: b'...'` for binary frames, which are
raw deflate (RFC 1951). Lines starting with '#' are comments, not frames.

Rules (re-implemented from BitMart's docs and aggr-server's bitmart.js):
"pong"/"ping", {"event":..} and {"action":..} without data are control;
table/group spot/trade and futures/trade:<sym> carry trades; *depth* and
bookticker are book; other spot/ and futures/ channels are other. Spot: size
is base, side the taker's, time ms_t (else s_t * 1000). Futures: base =
deal_vol * contract size (BTCUSDT 0.001), side from m (buyer maker -> sell)
else way (1-4 buy), time created_at (ISO, ns exact); type 1 = liquidation,
8 or absent = trade, others filtered; a futures frame whose kept ids descend
is taken oldest first.
"""
import ast
import calendar
import gzip
import json
import sys
import zlib

CONTRACT_SIZE = {"BTCUSDT": 0.001}


def iso_ns(text):
    date, clock = text.rstrip("Z").split("T")
    whole, _, frac = clock.partition(".")
    seconds = calendar.timegm(tuple(int(x) for x in date.split("-")) + tuple(int(x) for x in whole.split(":")))
    return seconds * 10**9 + int((frac + "000000000")[:9])


def frames(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            head, body = line.split(" ", 1)
            if head.endswith(":"):
                body = zlib.decompress(ast.literal_eval(body), -15).decode()
            yield body


def main():
    out = {k: 0 for k in ("frames", "trades", "liquidations", "taker_buys", "first_id", "last_id", "first_ts_ns",
                          "last_ts_ns", "skip_control", "skip_book", "skip_other", "skip_snapshot", "skip_filtered",
                          "errors")}
    sum_qty = sum_notional = 0.0
    numeric_ids = True
    for body in frames(sys.argv[1]):
        out["frames"] += 1
        if body in ("pong", "ping"):
            out["skip_control"] += 1
            continue
        msg = json.loads(body)
        name = msg.get("table") or msg.get("group")
        if name is None or ("data" not in msg and ("action" in msg or "event" in msg)):
            out["skip_control"] += 1
            continue
        kind, _, rest = name.partition("/")
        topic = rest.split(":")[0]
        if topic.startswith("depth") or topic == "bookticker":
            out["skip_book"] += 1
            continue
        if topic != "trade":
            out["skip_other"] += 1
            continue
        emitted = filtered = 0
        items = msg["data"]
        if kind == "futures":  # newest first on the wire; the parser hands them on oldest first
            ids = [int(t["trade_id"]) for t in items if t.get("type", 0) in (0, 1, 8)]
            if len(ids) >= 2 and ids[0] > ids[-1]:
                items = list(reversed(items))
        for t in items:
            if kind == "spot":
                price, qty = float(t["price"]), float(t["size"])
                ts = t["ms_t"] * 10**6 if "ms_t" in t else t["s_t"] * 10**9
                buy = t["side"] == "buy"
                tid, liq = None, False
            else:
                typ = t.get("type", 0)
                if typ not in (0, 1, 8):
                    filtered += 1
                    continue
                price = float(t["deal_price"])
                qty = float(t["deal_vol"]) * CONTRACT_SIZE[t["symbol"]]
                ts = iso_ns(t["created_at"])
                buy = (not t["m"]) if "m" in t else t["way"] <= 4
                tid, liq = int(t["trade_id"]), typ == 1
            emitted += 1
            out["trades"] += 1
            out["liquidations"] += 1 if liq else 0
            out["taker_buys"] += 1 if buy else 0
            if out["trades"] == 1:
                out["first_ts_ns"] = ts
                out["first_id"] = tid or 0
            out["last_ts_ns"] = ts
            out["last_id"] = tid or 0
            sum_qty += qty
            sum_notional += qty * price
        if emitted == 0 and filtered:
            out["skip_filtered"] += 1
    for key, value in out.items():
        print(key, value)
    print("sum_qty %.17g" % sum_qty)
    print("sum_notional %.17g" % sum_notional)


main()
