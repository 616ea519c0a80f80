#!/usr/bin/env python3
"""Reference figures for the hand-written MEXC fixtures.

An independent, deliberately simple re-implementation (standard library only)
of what feeds/mexc_parser.cc must find, used by tests/unit/feeds/mexc_test.cc.

Usage: mexc_reference.py spot|futures <fixture>
  spot     tests/data/fixtures/mexc.txt: "<recv_ns> <frame>" lines, JSON
           replies and protobuf pushes written as Python bytes literals
           (PushDataV3ApiWrapper: 1 channel, 3 symbol, 314 aggregated deals;
           313/315 depth and book ticker)
  futures  tests/data/fixtures/mexc_futures.txt: JSON push.deal frames; v is
           contracts of the sizes listed below (MEXC contract/detail)
Prints key=value lines: frames, trades, taker_buys, first/last ids (numeric
tradeIds only, 0 otherwise), first_ts_ns/last_ts_ns, sum_qty, sum_notional
(price x base qty), skip_* counts by kind and errors.
"""
import ast
import json
import re
import sys

CONTRACT_SIZE = {"BTC_USDT": 0.0001, "ETH_USDT": 0.01}


def fields(buf):
    """Protobuf message bytes -> list of (number, value); value is bytes or int."""
    out, i = [], 0
    while i < len(buf):
        key, i = varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(buf, i)
        elif wire == 2:
            n, i = varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wire)
        out.append((number, value))
    return out


def varint(buf, i):
    v = shift = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def spot_trades(frame, out):
    top = dict(fields(frame))
    if 313 in top or 315 in top:
        out["skip_book"] += 1
        return []
    symbol = top.get(3, top[1].split(b"@")[-1]).decode()
    trades = []
    for number, item in fields(top[314]):
        if number != 1:
            continue
        d = dict(fields(item))
        tid = d.get(5, b"").decode()
        trades.append(dict(price=float(d[1]), qty=float(d[2]), buy=d[3] == 1, ms=d[4],
                           id=int(tid) if tid.isdigit() else 0, symbol=symbol))
    return trades


def futures_trades(msg, out):
    channel = msg["channel"]
    if channel.startswith("rs.") or channel == "pong":
        out["skip_control"] += 1
        return []
    if channel.startswith("push.depth"):
        out["skip_book"] += 1
        return []
    if channel != "push.deal":
        out["skip_other"] += 1
        return []
    data = msg["data"] if isinstance(msg["data"], list) else [msg["data"]]
    size = CONTRACT_SIZE[msg["symbol"]]
    return [dict(price=float(d["p"]), qty=float(d["v"]) * size, buy=d["T"] == 1, ms=d["t"], id=0) for d in data]


def main(mode, path):
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
            frame = m.group(2)
            if frame.startswith("b'"):
                trades = spot_trades(ast.literal_eval(frame), out)
            elif mode == "spot":
                json.loads(frame)
                out["skip_control"] += 1  # {"id":0,"code":0,"msg":...}
                trades = []
            else:
                trades = futures_trades(json.loads(frame), out)
            for t in trades:
                out["trades"] += 1
                out["taker_buys"] += t["buy"]
                sum_qty += t["qty"]
                sum_notional += t["price"] * t["qty"]
                first = first or t
                last = t
    for key, value in out.items():
        print(f"{key}={value}")
    print(f"first_id={first['id']}")
    print(f"last_id={last['id']}")
    print(f"first_ts_ns={first['ms'] * 1000000}")
    print(f"last_ts_ns={last['ms'] * 1000000}")
    print(f"sum_qty={sum_qty!r}")
    print(f"sum_notional={sum_notional!r}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
