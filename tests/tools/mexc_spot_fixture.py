#!/usr/bin/env python3
"""Writes tests/data/fixtures/mexc.txt: hand-written MEXC spot frames.

MEXC spot pushes deals as protobuf (schema: github mexcdevelop/websocket-proto,
PushDataV3ApiWrapper.proto and PublicAggreDealsV3Api.proto). The values below
are made up by hand in the documented shapes; this script only encodes them
(a few lines of protobuf wire format, standard library only) and writes each
binary frame as a Python bytes literal, which feeds/capture_reader.h decodes.

    python3 tests/tools/mexc_spot_fixture.py > tests/data/fixtures/mexc.txt
"""


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(number, wire):
    return varint(number << 3 | wire)


def text(number, s):
    b = s.encode()
    return key(number, 2) + varint(len(b)) + b


def message(number, body):
    return key(number, 2) + varint(len(body)) + body


def integer(number, v):
    return key(number, 0) + varint(v)


def deal(price, qty, side, ms, trade_id=None):
    body = text(1, price) + text(2, qty) + integer(3, side) + integer(4, ms)
    if trade_id is not None:
        body += text(5, trade_id)
    return message(1, body)


def wrapper(channel, symbol, body_number, body, send_ms):
    out = text(1, channel)
    if symbol is not None:
        out += text(3, symbol)
    out += integer(5, send_ms - 3) + integer(6, send_ms)
    return out + message(body_number, body)


def literal(b):
    return "b'" + "".join(chr(c) if 32 <= c < 127 and chr(c) not in "\\'" else "\\x%02x" % c for c in b) + "'"


DEALS = "spot@public.aggre.deals.v3.api.pb@100ms@"
EVENT = text(2, "spot@public.aggre.deals.v3.api.pb@100ms")
lines = []
t = 1714567890400
recv = 1714567890500000000
lines.append('{"id":0,"code":0,"msg":"spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT"}')
lines.append('{"id":0,"code":0,"msg":"spot@public.aggre.deals.v3.api.pb@100ms@ETHUSDT"}')
# BTCUSDT: three deals, no tradeId (aggr-server's schema).
lines.append(literal(wrapper(DEALS + "BTCUSDT", "BTCUSDT", 314,
                             deal("63241.30", "0.015", 1, t) + deal("63241.10", "0.2", 2, t + 12)
                             + deal("63240.00", "1.25", 2, t + 40) + EVENT, t + 100)))
# ETHUSDT: two deals with numeric tradeIds.
lines.append(literal(wrapper(DEALS + "ETHUSDT", "ETHUSDT", 314,
                             deal("3050.12", "0.5", 1, t + 150, "880011") + deal("3050.15", "2.75", 1, t + 151, "880012")
                             + EVENT, t + 200)))
lines.append('{"id":0,"code":0,"msg":"PONG"}')
# A depth push (aggre.depth, body 313): a book frame.
depth = message(1, text(1, "63241.5") + text(2, "0.8")) + message(2, text(1, "63241.4") + text(2, "1.1")) \
    + text(3, "spot@public.aggre.depth.v3.api.pb@100ms") + text(4, "100") + text(5, "101")
lines.append(literal(wrapper("spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT", "BTCUSDT", 313, depth, t + 250)))
# BTCUSDT again, the symbol only in the channel; one deal.
lines.append(literal(wrapper(DEALS + "BTCUSDT", None, 314, deal("63245.00", "0.004", 1, t + 300) + EVENT, t + 350)))
# A book ticker push (aggre.bookTicker, body 315).
ticker = text(1, "63244.9") + text(2, "0.5") + text(3, "63245.0") + text(4, "0.7")
lines.append(literal(wrapper("spot@public.aggre.bookTicker.v3.api.pb@100ms@BTCUSDT", "BTCUSDT", 315, ticker, t + 400)))
# BTCUSDT: two deals with non-numeric tradeIds (hashed).
lines.append(literal(wrapper(DEALS + "BTCUSDT", "BTCUSDT", 314,
                             deal("63246.50", "0.1", 2, t + 450, "a1b2c3") + deal("63247.00", "0.3", 1, t + 460, "a1b2c4")
                             + EVENT, t + 500)))
print("# hand-written MEXC spot fixture (tests/tools/mexc_spot_fixture.py): protobuf deals as b'' literals")
for i, line in enumerate(lines):
    print("%d %s" % (recv + i * 100_000_000, line))
