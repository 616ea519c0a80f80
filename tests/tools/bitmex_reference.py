#!/usr/bin/env python3
"""Independent reference figures for a BitMEX capture (cryptofeed line
format), for tests/unit/feeds/bitmex_test.cc. Standard library only.

Rules: table "trade", action "insert": one trade per data item, side is the
taker side, qty = homeNotional (base), trade id = hash of trdMatchID
(word-wise multiply + murmur3 finalizer, as feeds/json_support.h hash_trade_id);
"partial" is a snapshot; orderBook* is book; quote/instrument/funding/... are
other channels; info/success/error frames are control. Liquidation inserts
are counted as liquidations for XBT* non-USDT symbols (qty = leavesQty /
price) and as errors otherwise. Prints key=value lines.
"""
import calendar
import gzip
import json
import re
import sys

LINE = re.compile(r'^(\d+)(?:\.(\d+))?: (.*)$')
M64 = (1 << 64) - 1
OTHER = ('instrument', 'funding', 'settlement', 'insurance', 'announcement', 'chat', 'connected',
         'publicNotifications')


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


def iso_ns(s):
    m = re.match(r'^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z$', s)
    y, mo, d, h, mi, se, frac = m.groups()
    secs = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(se), 0, 0, 0))
    return secs * 10**9 + int((frac or '').ljust(9, '0'))


def main(path):
    out = dict(frames=0, trades=0, liquidations=0, taker_buys=0, sum_qty=0.0, sum_notional=0.0, errors=0,
               skip_control=0, skip_book=0, skip_other=0, skip_snapshot=0, skip_filtered=0)
    ids, times = [], []
    with gzip.open(path, 'rt', encoding='utf-8') as f:
        for line in f:
            m = LINE.match(line.rstrip('\r\n'))
            if not m:
                continue
            out['frames'] += 1
            msg = json.loads(m.group(3))
            if any(k in msg for k in ('info', 'success', 'error', 'status')):
                out['skip_control'] += 1
                continue
            table, action = msg['table'], msg['action']
            if table.startswith('orderBook'):
                out['skip_book'] += 1
            elif table.startswith('quote') or table.startswith('tradeBin') or table in OTHER:
                out['skip_other'] += 1
            elif table in ('trade', 'liquidation') and action == 'partial':
                out['skip_snapshot'] += 1
            elif table in ('trade', 'liquidation') and action in ('update', 'delete'):
                out['skip_filtered'] += 1
            elif table == 'trade' and action == 'insert':
                for t in msg['data']:
                    out['trades'] += 1
                    out['taker_buys'] += t['side'] == 'Buy'
                    out['sum_qty'] += t['homeNotional']
                    out['sum_notional'] += t['price'] * t['homeNotional']
                    ids.append(hash_trade_id(t['trdMatchID']))
                    times.append(iso_ns(t['timestamp']))
            elif table == 'liquidation' and action == 'insert':
                for t in msg['data']:
                    s = t['symbol']
                    if s.startswith('XBT') and not s.endswith('USDT') and '_' not in s:
                        q = t['leavesQty'] / t['price']
                        out['trades'] += 1
                        out['liquidations'] += 1
                        out['taker_buys'] += t['side'] == 'Buy'
                        out['sum_qty'] += q
                        out['sum_notional'] += t['price'] * q
                    else:
                        out['errors'] += 1
            else:
                out['errors'] += 1
    out['first_id'], out['last_id'] = ids[0], ids[-1]
    out['first_ts_ns'], out['last_ts_ns'] = times[0], times[-1]
    for k, v in out.items():
        print(f'{k}={v!r}' if isinstance(v, float) else f'{k}={v}')


if __name__ == '__main__':
    main(sys.argv[1])
