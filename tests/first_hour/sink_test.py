#!/usr/bin/env python3
"""tools/notify_sink.py without Alertmanager: payload → JSON line (pure), and the HTTP edges of a
sink started in-process on a free loopback port (bad JSON, not a webhook payload, oversized body,
an output file that cannot be written). Stdlib only.

Prints "ok   ..." / "FAIL ...: why"; exit status = number of failures.
"""
import datetime
import http.client
import json
import os
import socket
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'tools'))
import notify_sink  # noqa: E402

results = []


def check(name, ok, why=''):
    results.append(bool(ok))
    print(('ok   ' if ok else 'FAIL ') + name + ('' if ok else ': ' + str(why)))


def payload(**over):
    body = {'receiver': 'critical', 'status': 'firing', 'groupKey': '{}/{severity="critical"}:{alertname="X"}',
            'groupLabels': {'alertname': 'X'},
            'alerts': [{'status': 'firing', 'labels': {'alertname': 'ReanchorFailed'}},
                       {'status': 'resolved', 'labels': {'alertname': 'AggregatorDown'}},
                       {'status': 'firing', 'labels': {'alertname': 'ReanchorFailed'}}]}
    body.update(over)
    return body


def pure():
    now = datetime.datetime(2026, 12, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc)
    line = notify_sink.record('/critical/pager?x=1', payload(), now)
    check('record: receiver, integration, route path, status, alert names (deduplicated, in order)',
          line == {'received_at': '2026-12-02T03:04:05.678Z', 'path': '/critical/pager', 'receiver': 'critical',
                   'integration': 'pager', 'route': '{}/{severity="critical"}', 'status': 'firing',
                   'group_labels': {'alertname': 'X'}, 'alerts': ['ReanchorFailed', 'AggregatorDown'],
                   'alert_status': {'ReanchorFailed': 'firing', 'AggregatorDown': 'resolved'}}, json.dumps(line))
    odd = notify_sink.record('/', {'alerts': [{'labels': 'nope'}, 'x']}, now)
    check('record: missing labels and fields read as "?", never raise',
          odd['alerts'] == ['?'] and odd['receiver'] == '?' and odd['integration'] is None, json.dumps(odd))
    for bad in (None, [], {'alerts': 'x'}, {'receiver': 'a'}):
        try:
            notify_sink.record('/a/b', bad)
            check(f'record refuses {bad!r}', False, 'no error')
        except notify_sink.PayloadError:
            check(f'record refuses {bad!r}', True)


def raw_request(port, data):
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b''
        while chunk := s.recv(4096):
            out += chunk
    return out.decode(errors='replace')


def served(out_path):
    sink = notify_sink.Sink(out_path)
    handler = notify_sink.handler(sink)
    handler.log_message = lambda *args: None  # the sink's request log would interleave with ok/FAIL
    server = notify_sink.Server(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return sink, server, server.server_address[1]


def post(port, path, body):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
    conn.request('POST', path, body=body, headers={'Content-Type': 'application/json'})
    r = conn.getresponse()
    return r.status, r.read().decode()


def http_edges(tmp):
    out = os.path.join(tmp, 'n.jsonl')
    sink, server, port = served(out)
    try:
        status, _ = post(port, '/warning/chat', json.dumps(payload()).encode())
        lines = open(out).read().splitlines()
        check('a webhook payload is appended as one JSON line (200)', status == 200 and len(lines) == 1
              and json.loads(lines[0])['alerts'] == ['ReanchorFailed', 'AggregatorDown'], f'{status} {lines}')
        s1, _ = post(port, '/warning/chat', b'{not json')
        s2, b2 = post(port, '/warning/chat', b'{"receiver":"x"}')
        s3, _ = post(port, '/warning/chat', b'\xff\xfe')
        big = raw_request(port, b'POST /a/b HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n{}')
        check('bad JSON, a non-webhook object and non-UTF-8 get 400; an oversized body 413',
              (s1, s2, s3) == (400, 400, 400) and 'alerts' in b2 and ' 413 ' in big.split('\r\n')[0],
              f'{s1} {s2} {s3} {big[:80]!r}')
        h = sink.health()
        check('rejections are counted, nothing extra written', h['rejected'] == 4 and h['delivered'] == 1
              and len(open(out).read().splitlines()) == 1, h)
    finally:
        server.shutdown()
        server.server_close()

    sink, server, port = served(tmp)  # the output path is a directory: every append fails
    try:
        status, body = post(port, '/warning/chat', json.dumps(payload()).encode())
        h = sink.health()
        check('an output file that cannot be written: 500 with the reason, counted, the sink keeps serving',
              status == 500 and 'cannot append' in body and h.get('write_failed') == 1
              and post(port, '/warning/chat', b'x')[0] == 400, f'{status} {body} {h}')
    except (OSError, http.client.HTTPException) as e:
        check('an output file that cannot be written: 500 with the reason, counted, the sink keeps serving',
              False, repr(e))
    finally:
        server.shutdown()
        server.server_close()


def main():
    pure()
    with tempfile.TemporaryDirectory(prefix='sink-test-') as tmp:
        http_edges(tmp)
    return sum(1 for r in results if not r)


if __name__ == '__main__':
    sys.exit(min(main(), 100))
