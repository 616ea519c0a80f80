#!/usr/bin/env python3
"""Reference figures for a Phemex cryptofeed capture (trade.subscribe).

An independent, deliberately simple re-implementation (stdlib json/gzip only)
of what feeds/phemex_parser.cc must find, used by
tests/unit/feeds/phemex_test.cc.

Usage: phemex_reference.py <capture.gz>
Prints key=value lines:
  frames                  received frames ("<seconds>: <frame>" lines)
  trades                  trades of "incremental" trade frames whose
                          instrument converts: spot (symbols starting with
                          's': price = priceEp / 1e8, base = qty / 1e8) and
                          the contracts listed below (price = priceEp / 1e4)
  unknown_instrument      trades on contracts not listed below (errors)
  first_id/last_id        the 64-bit id hash of the first and last trade:
                          hash of the element's JSON text between its
                          brackets (the capture writes it compactly:
                          ts,"side",priceEp,qty) XOR hash of the symbol
  first_ts_ns/last_ts_ns  their times
  sum_qty, sum_notional   sum of base quantity and of price * base
  taker_buys              trades with side "Buy"
  skip_control            replies ({"error":..,"id":..,"result":..})
  skip_book               "book" frames
  skip_snapshot           "snapshot" trade frames (history sent on subscribe)
  skip_other, skip_filtered   0 for this capture
  errors                  = unknown_instrument
"""
import gzip
import json
import re
import sys

# Contracts: (kind, size). Inverse: USD per contract; linear: base per contract.
CONTRACTS = {"BTCUSD": ("inverse", 1.0), "XRPUSD": ("linear", 5.0)}
MASK = (1 << 64) - 1


def hash_id(text):
    """tickflow's hash_trade_id (feeds/json_support.h), re-done from its description."""
    data = text.encode()
    mul = 0xFF51AFD7ED558CCD
    h = 0x9E3779B97F4A7C15 ^ ((len(data) * mul) & MASK)
    for i in range(0, len(data), 8):
        word = int.from_bytes(data[i:i + 8], "little")
        h = ((h ^ word) * mul) & MASK
        h ^= h >> 32
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & MASK
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & MASK
    h ^= h >> 33
    return h


def main(path):
    received = re.compile(r"^\d+(\.\d+)?: (.*)$")
    out = dict(frames=0, trades=0, unknown_instrument=0, taker_buys=0, skip_control=0, skip_book=0,
               skip_snapshot=0, skip_other=0, skip_filtered=0)
    sum_qty = 0.0
    sum_notional = 0.0
    first = last = None
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            m = received.match(line.rstrip("\n"))
            if not m:
                continue
            out["frames"] += 1
            msg = json.loads(m.group(2))
            if "result" in msg:
                out["skip_control"] += 1
            elif "book" in msg:
                out["skip_book"] += 1
            elif "trades" in msg and msg["type"] == "snapshot":
                out["skip_snapshot"] += 1
            elif "trades" in msg:
                sym = msg["symbol"]
                for ts, side, price_ep, qty in msg["trades"]:
                    if sym.startswith("s"):
                        price = price_ep / 10**8
                        base = qty / 10**8
                    elif sym in CONTRACTS:
                        price = price_ep / 10**4
                        kind, size = CONTRACTS[sym]
                        base = qty * size / price if kind == "inverse" else qty * size
                    else:
                        out["unknown_instrument"] += 1
                        continue
                    out["trades"] += 1
                    out["taker_buys"] += side == "Buy"
                    sum_qty += base
                    sum_notional += price * base
                    t = (hash_id(f'{ts},"{side}",{price_ep},{qty}') ^ hash_id(sym), ts)
                    if first is None:
                        first = t
                    last = t
            else:
                out["skip_other"] += 1
    out["errors"] = out["unknown_instrument"]
    for key, value in out.items():
        print(f"{key}={value}")
    print(f"first_id={first[0]}")
    print(f"last_id={last[0]}")
    print(f"first_ts_ns={first[1]}")
    print(f"last_ts_ns={last[1]}")
    print(f"sum_qty={sum_qty!r}")
    print(f"sum_notional={sum_notional!r}")


if __name__ == "__main__":
    main(sys.argv[1])
