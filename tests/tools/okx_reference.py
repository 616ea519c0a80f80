#!/usr/bin/env python3
"""Reference figures for an OKX v5 cryptofeed capture.

An independent, deliberately simple re-implementation (stdlib json/gzip only)
of what feeds/okx_parser.cc must find, used by tests/unit/feeds/okx_test.cc.

Usage: okx_reference.py <capture.gz>
Prints key=value lines:
  frames            received frames ("<seconds>: <frame>" lines)
  trades            trades in "trades" channel frames
  first_id/last_id  tradeId of the first and last trade, in file order
  first_ts_ms/last_ts_ms  their ts
  sum_qty           sum of base quantities: sz for spot (BTC-USDT), and
                    sz * ctVal / px for the inverse contracts in the capture
                    (ctVal in USD from OKX public/instruments, listed below)
  sum_notional      sum of px * base quantity
  taker_buys        trades with side == "buy"
  skip_control      {"event":..} frames and the text "pong"
  skip_book         books* channels
  skip_other        any other channel (tickers)
"""
import gzip
import json
import re
import sys

# Inverse contracts: USD per contract (OKX ctVal).
INVERSE_CT_VAL = {"BTC-USD-220527": 100.0, "UNI-USD-SWAP": 10.0}
# Linear contracts: base per contract.
LINEAR_CT_VAL = {"BTC-USDT-SWAP": 0.01, "ETH-USDT-SWAP": 0.1}


def base_qty(inst, sz, px):
    if len(inst.split("-")) == 2:
        return sz
    if inst in LINEAR_CT_VAL:
        return sz * LINEAR_CT_VAL[inst]
    return sz * INVERSE_CT_VAL[inst] / px


def main(path):
    received = re.compile(r"^\d+(\.\d+)?: (.*)$")
    out = dict(frames=0, trades=0, taker_buys=0, skip_control=0, skip_book=0, skip_other=0)
    sum_qty = 0.0
    sum_notional = 0.0
    first = last = None
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            m = received.match(line.rstrip("\n"))
            if not m:
                continue
            out["frames"] += 1
            if m.group(2) == "pong":
                out["skip_control"] += 1
                continue
            msg = json.loads(m.group(2))
            if "event" in msg:
                out["skip_control"] += 1
                continue
            channel = msg["arg"]["channel"]
            if channel == "trades":
                for t in msg["data"]:
                    px = float(t["px"])
                    qty = base_qty(t["instId"], float(t["sz"]), px)
                    sum_qty += qty
                    sum_notional += px * qty
                    out["trades"] += 1
                    out["taker_buys"] += t["side"] == "buy"
                    if first is None:
                        first = t
                    last = t
            elif channel.startswith("books"):
                out["skip_book"] += 1
            else:
                out["skip_other"] += 1
    for key, value in out.items():
        print(f"{key}={value}")
    print(f"first_id={int(first['tradeId'])}")
    print(f"last_id={int(last['tradeId'])}")
    print(f"first_ts_ms={int(first['ts'])}")
    print(f"last_ts_ms={int(last['ts'])}")
    print(f"sum_qty={sum_qty!r}")
    print(f"sum_notional={sum_notional!r}")


if __name__ == "__main__":
    main(sys.argv[1])
