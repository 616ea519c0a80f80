#!/usr/bin/env python3
"""Reference figures for an HTX (Huobi) cryptofeed capture, computed the
simple way (stdlib only: gzip, json, ast.literal_eval), independently of the
C++ parser, for tests/unit/feeds/htx_test.cc to compare against.

Usage: htx_reference.py <capture.gz> <HUOBI|HUOBI_SWAP>

Prints "key value" lines: frames, trades, first_id, last_id, sum_qty,
sum_notional, taker_buys, skip_<kind> for control/book/other/snapshot/filtered,
and errors.

Rules (feeds/htx_parser.cc's banner, re-implemented): each received frame is a
Python bytes literal of a gzip member holding JSON (or plain JSON text).
"ping" and acks (status/subbed/...) are control; market.<sym>.trade.detail
carries trades; market.*.depth*/mbp*/bbo* are book; other market.* channels are
"other". Trade id: tradeId, else id. Quantity: amount (spot), quantity (swaps).
"""
import ast
import gzip
import json
import sys


def main():
    path, exchange = sys.argv[1], sys.argv[2]
    swap = exchange == "HUOBI_SWAP"
    out = {"frames": 0, "trades": 0, "first_id": 0, "last_id": 0, "taker_buys": 0, "errors": 0,
           "skip_control": 0, "skip_book": 0, "skip_other": 0, "skip_snapshot": 0, "skip_filtered": 0}
    sum_qty = 0.0
    sum_notional = 0.0
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or " <-" in line.split(": ", 1)[0]:
                continue  # blank, sent frames, connection events
            _, body = line.split(": ", 1)
            out["frames"] += 1
            if body.startswith("b'") or body.startswith('b"'):
                raw = gzip.decompress(ast.literal_eval(body))
            else:
                raw = body.encode()
            msg = json.loads(raw)
            if "ch" in msg:
                parts = msg["ch"].split(".")
                if parts[0] != "market" or len(parts) < 3:
                    out["errors"] += 1
                    continue
                topic = ".".join(parts[2:])
                if topic == "trade.detail":
                    for t in msg["tick"]["data"]:
                        tid = t["tradeId"] if "tradeId" in t else t["id"]
                        qty = t["quantity"] if (swap and "quantity" in t) else t["amount"]
                        price = t["price"]
                        out["trades"] += 1
                        if out["trades"] == 1:
                            out["first_id"] = tid
                        out["last_id"] = tid
                        sum_qty += qty
                        sum_notional += qty * price
                        if t["direction"] == "buy":
                            out["taker_buys"] += 1
                elif topic.startswith(("depth", "mbp", "bbo")):
                    out["skip_book"] += 1
                else:
                    out["skip_other"] += 1
            elif "ping" in msg or any(k in msg for k in ("status", "subbed", "unsubbed", "op", "err-code", "pong")):
                out["skip_control"] += 1
            elif "rep" in msg:
                out["skip_other"] += 1
            else:
                out["errors"] += 1
    for key, value in out.items():
        print(key, value)
    print("sum_qty", repr(sum_qty))
    print("sum_notional", repr(sum_notional))


if __name__ == "__main__":
    main()
