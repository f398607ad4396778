"""Independent order-book reference for the end-to-end checks (python, stdlib only).

`recording_facts(files)` reads the hftbacktest spot recording (`<local_recv_ns> <json>` lines) and
returns the event counts per stream, the last bookTicker and the book obtained with Binance's
sync procedure (REST snapshot + diffs), so the expected final state is computed from the data, not
hard-coded. `Book` is the same procedure over decoded Kinesis events (clients.decode_event)."""
import gzip
import json
from decimal import Decimal


class BookError(Exception):
    pass


class Book:
    """Binance local book: buffer diffs until a snapshot, drop u <= lastUpdateId, the first applied
    diff must straddle lastUpdateId + 1, then U == previous u + 1 (else the book is broken and waits
    for the next snapshot). Quantities are absolute; 0 removes a level."""

    def __init__(self):
        self.bids, self.asks = {}, {}
        self.last_u = None
        self.synced = False
        self.buffer = []
        self.breaks = 0
        self.syncs = 0

    def snapshot(self, last_update_id, bids, asks):
        if self.synced:
            return  # a synced book ignores later snapshots (the diffs keep it exact)
        self.bids = {p: q for p, q in bids if q != 0}
        self.asks = {p: q for p, q in asks if q != 0}
        self.last_u = last_update_id
        self.synced = True
        self.syncs += 1
        pending, self.buffer = self.buffer, []
        first = True
        for d in pending:
            if d[1] <= self.last_u:
                continue
            if first and not (d[0] <= self.last_u + 1 <= d[1]):
                self._break()
                return
            first = False
            self._apply(*d)

    def diff(self, first_u, last_u, bids, asks):
        if not self.synced:
            self.buffer.append((first_u, last_u, bids, asks))
            return
        if last_u <= self.last_u:
            return
        if first_u != self.last_u + 1:
            self._break()
            self.buffer.append((first_u, last_u, bids, asks))
            return
        self._apply(first_u, last_u, bids, asks)

    def gap(self):
        if self.synced:
            self._break()

    def _break(self):
        self.synced = False
        self.breaks += 1
        self.buffer = []

    def _apply(self, _first_u, last_u, bids, asks):
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for p, q in levels:
                if q == 0:
                    side.pop(p, None)
                else:
                    side[p] = q
        self.last_u = last_u

    def top(self, n=10):
        bids = sorted(self.bids.items(), key=lambda kv: -kv[0])[:n]
        asks = sorted(self.asks.items(), key=lambda kv: kv[0])[:n]
        return bids, asks


def _dec_levels(levels):
    return [(Decimal(p), Decimal(q)) for p, q in levels]


def recording_facts(files):
    counts = {'trade': 0, 'bookTicker': 0, 'depth': 0, 'snapshot': 0, 'other': 0}
    last_ticker = None
    last_diff_u = None
    book = Book()
    for path in files:
        opener = gzip.open if open(path, 'rb').read(2) == b'\x1f\x8b' else open
        with opener(path, 'rt') as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                _ts, payload = line.split(' ', 1)
                msg = json.loads(payload)
                if 'lastUpdateId' in msg:
                    counts['snapshot'] += 1
                    book.snapshot(msg['lastUpdateId'], _dec_levels(msg['bids']), _dec_levels(msg['asks']))
                    continue
                stream = msg.get('stream', '')
                data = msg.get('data', msg)
                if stream.endswith('@trade'):
                    counts['trade'] += 1
                elif stream.endswith('@bookTicker'):
                    counts['bookTicker'] += 1
                    last_ticker = data
                elif '@depth' in stream:
                    counts['depth'] += 1
                    last_diff_u = data['u']
                    book.diff(data['U'], data['u'], _dec_levels(data['b']), _dec_levels(data['a']))
                else:
                    counts['other'] += 1
    if not book.synced:
        raise BookError('the recording does not sync (snapshot + diffs)')
    return {
        'counts': counts,
        'last_ticker': {'bid': Decimal(last_ticker['b']), 'bid_qty': Decimal(last_ticker['B']),
                        'ask': Decimal(last_ticker['a']), 'ask_qty': Decimal(last_ticker['A']),
                        'u': last_ticker['u']},
        'last_diff_u': last_diff_u,
        'book_last_u': book.last_u,
        'top': book.top(10),
    }


def parse_redis_levels(s):
    """`price:qty,price:qty` (docs/redis-contract.md) -> [(Decimal, Decimal)]."""
    if not s:
        return []
    out = []
    for pair in s.split(','):
        p, q = pair.split(':')
        out.append((Decimal(p), Decimal(q)))
    return out


def scaled(mantissa, exp):
    return Decimal(mantissa).scaleb(exp)


def book_from_events(events):
    """Replay decoded Kinesis events (in order) through `Book`. Gap/reconnect markers break it."""
    book = Book()
    for ev in events:
        t = ev['type']
        if t == 'depth_snapshot':
            book.snapshot(ev['last_update_id'],
                          [(scaled(p, ev['pexp']), scaled(q, ev['qexp'])) for p, q in ev['bids']],
                          [(scaled(p, ev['pexp']), scaled(q, ev['qexp'])) for p, q in ev['asks']])
        elif t == 'depth_diff':
            book.diff(ev['U'], ev['u'],
                      [(scaled(p, ev['pexp']), scaled(q, ev['qexp'])) for p, q in ev['bids']],
                      [(scaled(p, ev['pexp']), scaled(q, ev['qexp'])) for p, q in ev['asks']])
        elif t == 'stream_gap' and ev['stream'] in (0, 3):
            book.gap()
    return book
