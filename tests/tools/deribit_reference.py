#!/usr/bin/env python3
"""Reference figures for a Deribit cryptofeed capture (JSON-RPC v2).

An independent, deliberately simple re-implementation (stdlib json/gzip only)
of what feeds/deribit_parser.cc must find, used by
tests/unit/feeds/deribit_test.cc. The bundled session has no trade frames,
only an RPC response, tickers and books.

Usage: deribit_reference.py <capture.gz>
Prints key=value lines:
  frames        received frames ("<seconds>: <frame>" lines)
  trades        trades in trades.* channel frames
  taker_buys    trades with direction == "buy"
  skip_control  RPC responses (result/error) and heartbeats
  skip_book     book.* channels
  skip_other    any other subscription channel
"""
import gzip
import json
import re
import sys


def main(path):
    received = re.compile(r"^\d+(\.\d+)?: (.*)$")
    out = dict(frames=0, trades=0, taker_buys=0, skip_control=0, skip_book=0, skip_other=0)
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            m = received.match(line.rstrip("\n"))
            if not m:
                continue
            out["frames"] += 1
            msg = json.loads(m.group(2))
            method = msg.get("method")
            if method is None or method == "heartbeat":
                out["skip_control"] += 1
                continue
            channel = msg["params"]["channel"]
            if channel.startswith("trades."):
                for t in msg["params"]["data"]:
                    out["trades"] += 1
                    out["taker_buys"] += t["direction"] == "buy"
            elif channel.startswith("book."):
                out["skip_book"] += 1
            else:
                out["skip_other"] += 1
    for key, value in out.items():
        print(f"{key}={value}")


if __name__ == "__main__":
    main(sys.argv[1])
