#!/usr/bin/env python3
"""bench/bar_lateness.py: how late trades arrive behind the bar builder's
watermark, per connection, on real captures (bench/README.md, "Bar
visibility").

Each capture file is one websocket connection. Its trades and quotes come out
of `tickflow replay --trades-out/--quotes-out` in receive order; events with
the same receive time are one frame. The model is the aggregator's
(pipeline/bar_builder.h, runtime/feed_publisher.h):
  * a market's watermark rises with its own trades, one by one;
  * after each frame, the connection's watermark (newest exchange time of its
    non-liquidation trades and timed quotes) reaches every market on it.
A trade is late when the watermark of its market at its arrival is already
past its exchange time; `behind` = watermark - exchange time. With a
lateness L, a trade whose `behind` exceeds L + (its time to the end of its
second) finds its second closed and becomes an amendment; the script counts
those for a few L. `lag` = receive time - exchange time (the quiet close
waits for it).

Usage: bench/bar_lateness.py TICKFLOW_BINARY [EXCHANGE=]CAPTURE[+[EXCHANGE=]CAPTURE...]...
(a "+" joins captures into one connection)
"""
import csv
import io
import subprocess
import sys

LATENESS_MS = [0, 10, 25, 50, 100, 250]


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def events(binary, capture):
    files = capture.split("+")  # several captures as one connection, merged by receive time
    trades = subprocess.run([binary, "replay", "--trades-out", "-"] + files, capture_output=True, text=True,
                            check=True).stdout
    quotes = subprocess.run([binary, "replay", "--quotes-out", "-"] + files, capture_output=True, text=True,
                            check=True).stdout
    out = []
    for i, row in enumerate(csv.DictReader(io.StringIO(trades))):
        out.append((int(row["receive_ts_ns"]), 0, i, row["market"], int(row["exchange_ts_ns"]), row["liquidation"] == "1"))
    for i, row in enumerate(csv.DictReader(io.StringIO(quotes))):
        ts = int(row["exchange_ts_ns"])
        if ts > 0:
            out.append((int(row["receive_ts_ns"]), 1, i, row["market"], ts, False))
    out.sort()
    return out


def analyse(binary, capture):
    evs = events(binary, capture)
    conn_wm = None
    market_wm = {}
    behind, lags = [], []
    amend = {l: 0 for l in LATENESS_MS}
    trades = 0
    i = 0
    while i < len(evs):
        j = i
        while j < len(evs) and evs[j][0] == evs[i][0]:
            j += 1
        frame_newest = conn_wm
        for recv, kind, _, market, ts, liq in evs[i:j]:
            if kind == 0:
                trades += 1
                lags.append((recv - ts) / 1e6)
                wm = max(x for x in (conn_wm, market_wm.get(market)) if x is not None) \
                    if (conn_wm is not None or market in market_wm) else None
                if wm is not None and wm > ts:
                    b = (wm - ts) / 1e6
                    behind.append(b)
                    to_end = (1000 - (ts // 1_000_000) % 1000)  # ms from the trade to its second's end
                    for l in LATENESS_MS:
                        # closed when wm >= end + l: late if behind > to_end + l
                        if b >= to_end + l:
                            amend[l] += 1
                if not liq:
                    market_wm[market] = max(market_wm.get(market, ts), ts)
            if not liq:
                frame_newest = ts if frame_newest is None else max(frame_newest, ts)
        conn_wm = frame_newest
        i = j
    return trades, behind, lags, amend


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    binary = sys.argv[1]
    head = "| connection | trades | behind wm | behind p50 / p99 / p99.9 / max (ms) | lag p50 / p99 / max (ms) | " + \
        " | ".join(f"amend @{l}" for l in LATENESS_MS) + " |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for capture in sys.argv[2:]:
        trades, behind, lags, amend = analyse(binary, capture)
        name = "+".join(f.split("/")[-1] for f in capture.split("+"))
        print(f"| {name} | {trades} | {len(behind)} | {pct(behind, .5):.1f} / {pct(behind, .99):.1f} / "
              f"{pct(behind, .999):.1f} / {max(behind) if behind else 0:.1f} | "
              f"{pct(lags, .5):.1f} / {pct(lags, .99):.1f} / {max(lags) if lags else 0:.1f} | " +
              " | ".join(str(amend[l]) for l in LATENESS_MS) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
