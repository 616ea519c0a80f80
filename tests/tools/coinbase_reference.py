#!/usr/bin/env python3
"""Independent reference figures for a Coinbase Exchange capture (cryptofeed
line format), for tests/unit/feeds/coinbase_test.cc. Standard library only.

Rules (../shared/docs/exchanges.md): "match" frames are trades; `side` is the
maker side, so the taker bought when side == "sell"; size is base (spot);
"last_match" is filtered (not a trade). Prints key=value lines.
"""
import calendar
import gzip
import json
import re
import sys

LINE = re.compile(r'^(\d+)(?:\.(\d+))?: (.*)$')
KIND = {'subscriptions': 'control', 'heartbeat': 'control', 'error': 'control',
        'snapshot': 'book', 'l2update': 'book', 'received': 'book', 'open': 'book', 'done': 'book',
        'change': 'book', 'activate': 'book', 'ticker': 'other', 'status': 'other', 'last_match': 'filtered'}


def iso_ns(s):
    # "2021-04-17T16:43:37.312313Z" -> ns, exactly (integer arithmetic)
    m = re.match(r'^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z$', s)
    y, mo, d, h, mi, se, frac = m.groups()
    secs = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(se), 0, 0, 0))
    return secs * 10**9 + int((frac or '').ljust(9, '0'))


def main(path):
    out = dict(frames=0, trades=0, taker_buys=0, sum_qty=0.0, sum_notional=0.0, errors=0,
               skip_control=0, skip_book=0, skip_other=0, skip_snapshot=0, skip_filtered=0)
    ids, times = [], []
    with gzip.open(path, 'rt', encoding='utf-8') as f:
        for line in f:
            m = LINE.match(line.rstrip('\r\n'))
            if not m:
                continue  # "<url> <-" sent frames, connection events, blank lines
            out['frames'] += 1
            msg = json.loads(m.group(3))
            t = msg['type']
            if t == 'match':
                price, size = float(msg['price']), float(msg['size'])
                out['trades'] += 1
                out['taker_buys'] += msg['side'] == 'sell'
                out['sum_qty'] += size
                out['sum_notional'] += price * size
                ids.append(msg['trade_id'])
                times.append(iso_ns(msg['time']))
            elif t in KIND:
                out['skip_' + KIND[t]] += 1
            else:
                out['errors'] += 1
    out['first_id'], out['last_id'] = ids[0], ids[-1]
    out['first_ts_ns'], out['last_ts_ns'] = times[0], times[-1]
    for k, v in out.items():
        print(f'{k}={v!r}' if isinstance(v, float) else f'{k}={v}')


if __name__ == '__main__':
    main(sys.argv[1])
