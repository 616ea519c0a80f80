#!/usr/bin/env python3
"""Reference figures for a Bitfinex v2 cryptofeed capture, computed the simple
way (stdlib only), independently of the C++ parser, for
tests/unit/feeds/bitfinex_test.cc to compare against.

Usage: bitfinex_reference.py <capture.gz>

Prints "key value" lines: frames, trades, sum_qty, sum_notional, taker_buys,
skip_<kind> for control/book/other/snapshot/filtered, errors.

Rules (feeds/bitfinex_parser.cc's banner, re-implemented): {"event":..} frames
are control, and "subscribed" maps chanId to its channel kind; [chanId,"hb"]
is control; on a trades channel [chanId,[[..],..]] is a snapshot, "te" a trade
(AMOUNT < 0: taker sell, qty |AMOUNT|), "tu" filtered; frames on book
channels are book, on any other channel "other"; unknown chanIds are errors.
"""
import gzip
import json
import sys


def main():
    path = sys.argv[1]
    out = {"frames": 0, "trades": 0, "taker_buys": 0, "errors": 0, "skip_control": 0, "skip_book": 0,
           "skip_other": 0, "skip_snapshot": 0, "skip_filtered": 0}
    sum_qty = 0.0
    sum_notional = 0.0
    channels = {}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or " <-" in line.split(": ", 1)[0]:
                continue
            _, body = line.split(": ", 1)
            out["frames"] += 1
            msg = json.loads(body)
            if isinstance(msg, dict):
                if msg.get("event") == "subscribed":
                    channels[msg["chanId"]] = msg["channel"]
                out["skip_control"] += 1
                continue
            if len(msg) > 1 and msg[1] == "hb":
                out["skip_control"] += 1
                continue
            kind = channels.get(msg[0])
            if kind is None:
                out["errors"] += 1
            elif kind == "book":
                out["skip_book"] += 1
            elif kind != "trades":
                out["skip_other"] += 1
            elif isinstance(msg[1], list):
                out["skip_snapshot"] += 1
            elif msg[1] == "tu":
                out["skip_filtered"] += 1
            elif msg[1] == "te":
                _, _, amount, price = msg[2][:4]
                out["trades"] += 1
                sum_qty += abs(amount)
                sum_notional += abs(amount) * price
                out["taker_buys"] += amount > 0
            else:
                out["errors"] += 1
    for key, value in out.items():
        print(key, int(value))
    print("sum_qty", repr(sum_qty))
    print("sum_notional", repr(sum_notional))


if __name__ == "__main__":
    main()
