#!/usr/bin/env python3
"""Decodes tickflow's bus messages from Python with a stock library.

flatc --python generates the readers from bus/schema/tickflow_bus.fbs into a
temporary folder; Debian's python3-flatbuffers runs them. bus_wire_sample (C++,
bus/wire_codec.h) writes one message of each kind; this script checks every
field's exact value against its own copy of the numbers (the test fails if the
two sides ever disagree on the format).

Usage: bus_wire_decode.py --flatc FLATC --schema tickflow_bus.fbs --sample BUS_WIRE_SAMPLE
"""
import argparse
import os
import subprocess
import sys
import tempfile
import uuid

failures = []


def check(what, got, want):
    if got != want:
        failures.append(f"{what}: got {got!r}, want {want!r}")


def envelope(path, body_type):
    from tickflow.bus.wire.Envelope import Envelope

    buf = bytearray(open(path, "rb").read())
    check(f"{path}: identifier", Envelope.EnvelopeBufferHasIdentifier(buf, 0), True)
    env = Envelope.GetRootAs(buf, 0)
    check(f"{path}: version", env.Version(), 1)
    check(f"{path}: body type", env.BodyType(), body_type)
    return env.Body()


def check_events(path):
    from tickflow.bus.wire.Body import Body
    from tickflow.bus.wire.EventBatch import EventBatch
    from tickflow.bus.wire.EventKind import EventKind
    from tickflow.bus.wire.FeedStatusKind import FeedStatusKind
    from tickflow.bus.wire.Side import Side

    table = envelope(path, Body.EventBatch)
    batch = EventBatch()
    batch.Init(table.Bytes, table.Pos)
    check("collector", batch.Collector(), b"tokyo-a")
    check("exchange", batch.Exchange(), b"BINANCE")
    check("market", batch.Market(), b"btcusdt")
    check("connection", batch.Connection(), 3)
    # The events in the order the collector added them.
    events = []
    rows = {EventKind.Trade: 0, EventKind.Quote: 0, EventKind.Status: 0}
    for i in range(batch.KindsLength()):
        kind = batch.Kinds(i)
        j = rows[kind]
        rows[kind] += 1
        if kind == EventKind.Trade:
            t = batch.Trades(j)
            events.append(("trade", t.ExchangeTsNs(), t.ReceiveTsNs(), t.TradeId(), t.Price(), t.Qty(), t.Side(), t.Flags()))
        elif kind == EventKind.Quote:
            q = batch.Quotes(j)
            events.append(("quote", q.ExchangeTsNs(), q.ReceiveTsNs(), q.BidPrice(), q.BidQty(), q.AskPrice(), q.AskQty()))
        else:
            s = batch.Statuses(j)
            events.append(("status", s.WatermarkNs(), s.ReceiveTsNs(), s.GapFirstId(), s.GapLastId(), s.Connection(),
                           s.Kind(), s.Detail(), s.AllMarkets()))
    check("row counts", (batch.TradesLength(), batch.QuotesLength(), batch.StatusesLength()), (3, 1, 3))
    want = [
        ("trade", 1723161254087000000, 1723161254087896568, 3712345678, 61234.56, 0.00123, Side.Sell, 0),
        ("status", 1723161254089000000, 1723161254089555555, 0, 0, 3, FeedStatusKind.Watermark, 0, False),
        ("quote", 1723161254088000000, 1723161254088123456, 61234.5, 1.234, 61234.6, 0.00031),
        ("trade", 1723161254090000000, 1723161254090000500, 3712345679, 61234.57, 0.5, Side.Buy, 1),
        ("status", 1723161254091000000, 1723161254089555555, 3712345690, 3712345699, 3, FeedStatusKind.Gap, 0, True),
        ("status", 1723161254092000000, 1723161254089555555, 0, 0, 3, FeedStatusKind.Backfilled, 1, False),
        ("trade", 1723161254093000000, 1723161254093000700, 0x9E3779B97F4A7C15, 61230.0, 2.0, Side.Sell, 6),
    ]
    check("events", len(events), len(want))
    for i, (got, w) in enumerate(zip(events, want)):
        check(f"event {i}", got, w)


def check_bars(path):
    from tickflow.bus.wire.BarBatch import BarBatch
    from tickflow.bus.wire.Body import Body

    table = envelope(path, Body.BarBatch)
    batch = BarBatch()
    batch.Init(table.Bytes, table.Pos)
    check("bars market", batch.Market(), b"BINANCE:btcusdt")
    check("bars timeframe_s", batch.TimeframeS(), 60)
    check("bars closed_until_s", batch.ClosedUntilS(), 1723161540)
    check("bars", batch.BarsLength(), 2)
    names = ["OpenTimeS", "TimeframeS", "Flags", "Open", "High", "Low", "Close", "Vbuy", "Vsell", "Cbuy", "Csell",
             "Lbuy", "Lsell", "Qbuy", "Qsell"]
    want = [
        (1723161420, 60, 0, 61234.56, 61299.99, 61200.01, 61250.5, 1234567.891, 987654.321, 152.0, 97.0, 12345.6,
         6543.21, 20.16, 16.13),
        (1723161480, 60, 1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 99999.5, 0.0, 0.0),
    ]
    for i in range(min(batch.BarsLength(), len(want))):
        bar = batch.Bars(i)
        check(f"bar {i}", tuple(getattr(bar, n)() for n in names), want[i])


def check_signal(path):
    from tickflow.bus.wire.Body import Body
    from tickflow.bus.wire.SignalAction import SignalAction
    from tickflow.bus.wire.SignalMessage import SignalMessage

    table = envelope(path, Body.SignalMessage)
    m = SignalMessage()
    m.Init(table.Bytes, table.Pos)
    signal_id = bytes(m.SignalId(i) for i in range(m.SignalIdLength()))
    # strategy/signal.h: UUIDv5 over the URL namespace, computed here independently.
    check("signal_id", str(uuid.UUID(bytes=signal_id)),
          str(uuid.uuid5(uuid.NAMESPACE_URL, "squeezeflow/BTCUSDT/1723161600/SHORT")))
    got = (m.TimestampS(), m.Action(), m.Symbol(), m.BaseSymbol(), m.Score(), m.Confidence(), m.PositionSizeFactor(),
           m.Leverage(), m.EntryPrice(), m.TtlS(), m.SpotCvd(), m.PerpCvd(), m.Divergence(), m.Reasoning())
    want = (1723161600, SignalAction.Short, b"BTCUSDT", b"BTC", 7.25, 0.8125, 0.5, 3.0, 61234.56, 900, -1234567.5,
            2345678.25, -0.375, b"spot CVD falls while perp CVD rises: short squeeze exhausted")
    check("signal", got, want)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--flatc", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--sample", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tickflow-wire-") as tmp:
        subprocess.run([args.flatc, "--python", "-o", os.path.join(tmp, "py"), args.schema], check=True)
        subprocess.run([args.sample, tmp], check=True)
        sys.path.insert(0, os.path.join(tmp, "py"))
        check_events(os.path.join(tmp, "events.tfb"))
        check_bars(os.path.join(tmp, "bars.tfb"))
        check_signal(os.path.join(tmp, "signal.tfb"))
    if failures:
        for f in failures:
            print("FAIL", f)
        return 1
    print("bus wire messages decode from Python: every field matches")
    return 0


if __name__ == "__main__":
    sys.exit(main())
