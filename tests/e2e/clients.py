"""Small stdlib clients for the end-to-end suite: Redis (RESP), kinesalite (Kinesis JSON API),
Prometheus / Alertmanager / service HTTP endpoints, and the pipeline-events record decoder."""
import base64
import json
import socket
import ssl
import struct
import urllib.error
import urllib.parse
import urllib.request


# --- HTTP -------------------------------------------------------------------------------------

def http_get(url, timeout=5.0):
    """GET url -> (status, body bytes); connection errors -> (None, b'')."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError):
        return None, b''


def http_json(url, timeout=5.0):
    status, body = http_get(url, timeout)
    if status != 200:
        raise RuntimeError(f'GET {url} -> {status}: {body[:200]!r}')
    return json.loads(body)


def http_send(method, url, payload=None, timeout=5.0):
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def scrape(url, timeout=5.0):
    """Prometheus text exposition -> {(name, frozenset(labels.items())): value}."""
    status, body = http_get(url, timeout)
    if status != 200:
        raise RuntimeError(f'scrape {url} -> {status}')
    out = {}
    for line in body.decode().splitlines():
        if not line or line.startswith('#'):
            continue
        if '{' in line:
            name, rest = line.split('{', 1)
            labels_s, value_s = rest.rsplit('}', 1)
            labels = {}
            for part in _split_labels(labels_s):
                k, v = part.split('=', 1)
                labels[k] = v.strip('"')
        else:
            name, value_s = line.split(None, 1)
            labels = {}
        value = value_s.split()[0]
        out[(name, frozenset(labels.items()))] = float(value)
    return out


def _split_labels(s):
    parts, cur, quoted = [], '', False
    for ch in s:
        if ch == '"' and not cur.endswith('\\'):
            quoted = not quoted
        if ch == ',' and not quoted:
            if cur:
                parts.append(cur)
            cur = ''
        else:
            cur += ch
    if cur:
        parts.append(cur)
    return parts


def metric_sum(samples, name, **match):
    """Sum of every sample of `name` whose labels include `match`."""
    total = 0.0
    for (n, labels), v in samples.items():
        if n == name and all((k, str(val)) in labels for k, val in match.items()):
            total += v
    return total


class Prometheus:
    def __init__(self, port):
        self.base = f'http://127.0.0.1:{port}'

    def query(self, expr, timeout=10.0):
        url = f'{self.base}/api/v1/query?' + urllib.parse.urlencode({'query': expr})
        doc = http_json(url, timeout)
        if doc.get('status') != 'success':
            raise RuntimeError(f'query {expr!r}: {doc}')
        return doc['data']['result']

    def targets(self):
        return http_json(f'{self.base}/api/v1/targets')['data']['activeTargets']

    def alerts(self):
        return http_json(f'{self.base}/api/v1/alerts')['data']['alerts']


# --- Redis (RESP2) ----------------------------------------------------------------------------

class Redis:
    """Minimal blocking RESP2 client; bulk strings come back as bytes."""

    def __init__(self, port, timeout=5.0, ca_file=None, user=None, password_file=None):
        self.port = port
        self.timeout = timeout
        self.sock = None
        self.buf = b''
        # TLS (trusting ca_file) and ACL login, as the services connect (deploy/local/redis-secure.sh).
        self.ca_file, self.user, self.password_file = ca_file, user, password_file

    def _connect(self):
        self.sock = socket.create_connection(('127.0.0.1', self.port), timeout=self.timeout)
        if self.ca_file:
            ctx = ssl.create_default_context(cafile=self.ca_file)
            self.sock = ctx.wrap_socket(self.sock, server_hostname='127.0.0.1')
        self.buf = b''
        if self.user:
            with open(self.password_file) as fh:
                password = fh.read().strip()
            a = [b'AUTH', self.user.encode(), password.encode()]
            self.sock.sendall(b'*3\r\n' + b''.join(b'$%d\r\n%s\r\n' % (len(x), x) for x in a))
            self._read()

    def close(self):
        if self.sock:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None

    def cmd(self, *args):
        for attempt in (0, 1):
            try:
                if self.sock is None:
                    self._connect()
                out = [b'*%d\r\n' % len(args)]
                for a in args:
                    a = a if isinstance(a, bytes) else str(a).encode()
                    out.append(b'$%d\r\n%s\r\n' % (len(a), a))
                self.sock.sendall(b''.join(out))
                return self._read()
            except (OSError, ConnectionError):
                self.close()
                if attempt:
                    raise

    def _line(self):
        while b'\r\n' not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError('redis closed the connection')
            self.buf += chunk
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError('redis closed the connection')
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b'+':
            return rest.decode()
        if kind == b'-':
            raise RuntimeError(f'redis error: {rest.decode()}')
        if kind == b':':
            return int(rest)
        if kind == b'$':
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b'*':
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError(f'bad RESP line {line!r}')

    def hgetall(self, key):
        flat = self.cmd('HGETALL', key) or []
        return {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}

    def hgetall_str(self, key):
        return {k: v.decode(errors='replace') for k, v in self.hgetall(key).items()}


# --- kinesalite ---------------------------------------------------------------------------------

class Kinesis:
    def __init__(self, port, stream):
        self.url = f'http://127.0.0.1:{port}/'
        self.stream = stream

    def call(self, target, body, timeout=10.0):
        req = urllib.request.Request(self.url, data=json.dumps(body).encode(), method='POST', headers={
            'Content-Type': 'application/x-amz-json-1.1',
            'X-Amz-Target': f'Kinesis_20131202.{target}',
            'X-Amz-Date': '20260101T000000Z',
            'Authorization': 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, '
                             'SignedHeaders=host;x-amz-date, Signature=00',
        })
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b'{}')

    def ensure_stream(self):
        try:
            self.call('DescribeStreamSummary', {'StreamName': self.stream})
            return False
        except urllib.error.HTTPError:
            self.call('CreateStream', {'StreamName': self.stream, 'ShardCount': 1})
            return True

    def active(self):
        try:
            d = self.call('DescribeStreamSummary', {'StreamName': self.stream})
            return d['StreamDescriptionSummary']['StreamStatus'] == 'ACTIVE'
        except (urllib.error.URLError, OSError, KeyError):
            return False

    def shards(self):
        d = self.call('DescribeStream', {'StreamName': self.stream})
        return [s['ShardId'] for s in d['StreamDescription']['Shards']]

    def read_all(self, shard):
        """Every record of the shard, oldest first: [(sequence_number int, data bytes)]."""
        it = self.call('GetShardIterator', {'StreamName': self.stream, 'ShardId': shard,
                                            'ShardIteratorType': 'TRIM_HORIZON'})['ShardIterator']
        out = []
        while it:
            d = self.call('GetRecords', {'ShardIterator': it, 'Limit': 10000})
            recs = d.get('Records', [])
            out.extend((int(r['SequenceNumber']), base64.b64decode(r['Data'])) for r in recs)
            it = d.get('NextShardIterator')
            if not recs and d.get('MillisBehindLatest', 0) == 0:
                break
        return out


# --- pipeline-events records (docs/wire-formats.md §3) -------------------------------------------

EVENT_NAMES = {10: 'trade', 11: 'best_bid_ask', 12: 'depth_diff', 13: 'depth_snapshot',
               20: 'stream_gap', 21: 'reconnected'}


def _levels(buf, off):
    """groupSizeEncoding (u16 blockLength, u32 count) of (price i64, qty i64) -> (levels, new off)."""
    block, count = struct.unpack_from('<HI', buf, off)
    off += 6
    out = []
    for i in range(count):
        p, q = struct.unpack_from('<qq', buf, off + i * block)
        out.append((p, q))
    return out, off + count * block


def decode_record(data):
    """-> dict(producer, batch, created_ns, events=[dict]) ; raises ValueError on a bad record."""
    block, tmpl, schema, version = struct.unpack_from('<HHHH', data, 0)
    if tmpl != 1 or schema != 100:
        raise ValueError(f'not a RecordEnvelope (template {tmpl}, schema {schema})')
    producer, batch, count, created = struct.unpack_from('<QQIq', data, 8)
    off = 8 + block
    (total,) = struct.unpack_from('<I', data, off)
    off += 4
    end = off + total
    events = []
    while off < end:
        (n,) = struct.unpack_from('<I', data, off)
        off += 4
        events.append(decode_event(data[off:off + n]))
        off += n
    if len(events) != count:
        raise ValueError(f'eventCount {count} but {len(events)} events')
    return {'producer': producer, 'batch': batch, 'created_ns': created, 'events': events}


def decode_event(buf):
    block, tmpl, _schema, _version = struct.unpack_from('<HHHH', buf, 0)
    b = 8
    ev = {'type': EVENT_NAMES.get(tmpl, f'template_{tmpl}')}
    if tmpl == 10:
        ev['epoch'] = struct.unpack_from('<Q', buf, b + 24)[0]
        pexp, qexp = struct.unpack_from('<bb', buf, b + 32)
        gblock, count = struct.unpack_from('<HI', buf, b + block)
        ev['fills'] = count
        ev['trade_ids'] = [struct.unpack_from('<q', buf, b + block + 6 + i * gblock)[0] for i in range(count)]
    elif tmpl == 11:
        ev['epoch'], ev['update_id'] = struct.unpack_from('<Qq', buf, b + 16)
        pexp, qexp = struct.unpack_from('<bb', buf, b + 32)
        bp, bq, ap, aq = struct.unpack_from('<qqqq', buf, b + 34)
        ev.update(pexp=pexp, qexp=qexp, bid=bp, bid_qty=bq, ask=ap, ask_qty=aq)
    elif tmpl == 12:
        ev['epoch'], ev['U'], ev['u'] = struct.unpack_from('<Qqq', buf, b + 16)
        ev['pexp'], ev['qexp'] = struct.unpack_from('<bb', buf, b + 40)
        ev['bids'], off = _levels(buf, b + block)
        ev['asks'], off = _levels(buf, off)
    elif tmpl == 13:
        ev['epoch'], ev['last_update_id'] = struct.unpack_from('<Qq', buf, b + 16)
        ev['pexp'], ev['qexp'] = struct.unpack_from('<bb', buf, b + 32)
        ev['bids'], off = _levels(buf, b + block)
        ev['asks'], off = _levels(buf, off)
    elif tmpl == 20:
        ev['epoch'] = struct.unpack_from('<Q', buf, b + 8)[0]
        ev['stream'], ev['reason'] = struct.unpack_from('<BB', buf, b + 16)
    elif tmpl == 21:
        ev['epoch'] = struct.unpack_from('<Q', buf, b + 8)[0]
        ev['reason'] = struct.unpack_from('<B', buf, b + 24)[0]
    return ev
