#!/usr/bin/env python3
"""Independent reference figures for Kraken captures (cryptofeed line format),
for tests/unit/feeds/kraken_test.cc. Standard library only.

usage: kraken_reference.py spot|futures <capture.gz>

Spot (ws v1): [chanId, [[price, volume, time, side, orderType, misc], ...],
"trade", pair]; side b/s is the taker side; volume is base. Trades carry no
id: the parser hashes "<pair>|<price>|<volume>|<time>|<side>|<orderType>"
(word-wise multiply + murmur3 finalizer, as feeds/json_support.h hash_trade_id);
first_id/last_id are that hash, recomputed here.

Futures: {"feed":"trade",...}; PI_/FI_ qty is USD (base = qty / price), PF_
qty is base; trade_id is seq; type "liquidation" is a liquidation.
Prints key=value lines.
"""
import gzip
import json
import re
import sys

LINE = re.compile(r'^(\d+)(?:\.(\d+))?: (.*)$')
M64 = (1 << 64) - 1


def hash_trade_id(text):
    """tickflow's hash_trade_id (feeds/json_support.h): one multiply per 8-byte little-endian word."""
    data = text.encode() if isinstance(text, str) else text
    mask = (1 << 64) - 1
    mul = 0xFF51AFD7ED558CCD
    h = 0x9E3779B97F4A7C15 ^ ((len(data) * mul) & mask)
    for i in range(0, len(data), 8):
        h = ((h ^ int.from_bytes(data[i:i + 8], "little")) * mul) & mask
        h ^= h >> 32
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & mask
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & mask
    h ^= h >> 33
    return h


def seconds_ns(s):
    whole, _, frac = s.partition('.')
    return int(whole) * 10**9 + int(frac.ljust(9, '0') or '0')


def frames(path):
    with gzip.open(path, 'rt', encoding='utf-8') as f:
        for line in f:
            m = LINE.match(line.rstrip('\r\n'))
            if m:
                yield json.loads(m.group(3))


def new_out():
    return dict(frames=0, trades=0, liquidations=0, taker_buys=0, sum_qty=0.0, sum_notional=0.0, errors=0,
                skip_control=0, skip_book=0, skip_other=0, skip_snapshot=0, skip_filtered=0)


def spot(path):
    out, ids, times = new_out(), [], []
    for msg in frames(path):
        out['frames'] += 1
        if isinstance(msg, dict):
            if msg.get('event') in ('heartbeat', 'systemStatus', 'subscriptionStatus', 'pong', 'error'):
                out['skip_control'] += 1
            else:
                out['errors'] += 1
            continue
        channel, pair = msg[-2], msg[-1]
        if channel.startswith('book'):
            out['skip_book'] += 1
            continue
        if channel != 'trade':
            out['skip_other'] += 1
            continue
        for price, volume, time, side, order_type, *_ in msg[1]:
            p, v = float(price), float(volume)
            out['trades'] += 1
            out['taker_buys'] += side == 'b'
            out['sum_qty'] += v
            out['sum_notional'] += p * v
            ids.append(hash_trade_id('|'.join([pair, price, volume, time, side, order_type])))
            times.append(seconds_ns(time))
    return out, ids, times


def futures(path):
    out, ids, times = new_out(), [], []
    for msg in frames(path):
        out['frames'] += 1
        if 'event' in msg:
            out['skip_control'] += 1
            continue
        feed = msg.get('feed')
        if feed == 'trade':
            if msg['type'] not in ('fill', 'liquidation'):
                out['skip_filtered'] += 1
                continue
            product, qty, price = msg['product_id'].upper(), float(msg['qty']), float(msg['price'])
            if product[:3] in ('PI_', 'FI_'):
                base = qty / price
            elif product[:3] == 'PF_':
                base = qty
            else:
                out['errors'] += 1
                continue
            out['trades'] += 1
            out['liquidations'] += msg['type'] == 'liquidation'
            out['taker_buys'] += msg['side'] == 'buy'
            out['sum_qty'] += base
            out['sum_notional'] += price * base
            ids.append(msg['seq'])
            times.append(msg['time'] * 10**6)
        elif feed == 'trade_snapshot':
            out['skip_snapshot'] += 1
        elif feed in ('book', 'book_snapshot'):
            out['skip_book'] += 1
        elif feed in ('ticker', 'ticker_lite'):
            out['skip_other'] += 1
        elif feed == 'heartbeat':
            out['skip_control'] += 1
        else:
            out['errors'] += 1
    return out, ids, times


def main(mode, path):
    out, ids, times = (spot if mode == 'spot' else futures)(path)
    if ids:  # a session of books only (KRAKEN.ws.50.0) has none
        out['first_id'], out['last_id'] = ids[0], ids[-1]
        out['first_ts_ns'], out['last_ts_ns'] = times[0], times[-1]
    for k, v in out.items():
        print(f'{k}={v!r}' if isinstance(v, float) else f'{k}={v}')


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
