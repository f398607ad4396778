#!/usr/bin/env python3
"""Local notification sink: the webhook every receiver of the local Alertmanager posts to
(alertmanager/render-local.sh renders URL/<receiver>/<integration>). `make run` starts it on the
port of that URL (deploy/local/stack.sh, SINK_PORT, default 9099) so the local stack does not
raise AlertmanagerNotificationsFailing against itself, and so a newcomer can see what would have
paged whom.

Each delivered notification becomes one JSON line appended to --out (default
.run/notifications.jsonl):

  {"received_at": "2026-12-02T02:30:01.123Z", "path": "/warning/chat", "receiver": "warning",
   "integration": "chat", "route": "{}/{severity=\"warning\"}", "status": "firing",
   "group_labels": {...}, "alerts": ["SbeSequenceGaps"], "alert_status": {"SbeSequenceGaps": "firing"}}

`route` is the route path Alertmanager puts in front of the group key. A body that is not an
Alertmanager webhook payload gets 400 (413 above 1 MiB), is not written, and is counted:
GET /health returns {"delivered": N, "rejected": M, "write_failed": K, "out": "<file>"}. When the
file cannot be written the answer is 500 (Alertmanager retries and counts a failed notification).
Stdlib only.

  tools/notify_sink.py --listen 127.0.0.1:9099 --out .run/notifications.jsonl
"""
import argparse
import datetime
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1 << 20


class PayloadError(ValueError):
    pass


def record(path, payload, now=None):
    """The JSON line for one webhook request; PayloadError when it is not an Alertmanager payload."""
    if not isinstance(payload, dict) or not isinstance(payload.get('alerts'), list):
        raise PayloadError('expected an Alertmanager webhook payload (an object with an "alerts" list)')
    alerts = [a for a in payload['alerts'] if isinstance(a, dict)]
    names = []
    status = {}
    for a in alerts:
        labels = a.get('labels') if isinstance(a.get('labels'), dict) else {}
        name = str(labels.get('alertname', '?'))
        if name not in status:
            names.append(name)
        status[name] = str(a.get('status', '?'))
    parts = [p for p in path.split('?', 1)[0].split('/') if p]
    group_key = str(payload.get('groupKey', ''))
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return {
        'received_at': now.strftime('%Y-%m-%dT%H:%M:%S.') + f'{now.microsecond // 1000:03d}Z',
        'path': '/' + '/'.join(parts),
        'receiver': str(payload.get('receiver', parts[0] if parts else '?')),
        'integration': parts[1] if len(parts) > 1 else None,
        'route': group_key.split(':', 1)[0] if ':' in group_key else group_key,
        'status': str(payload.get('status', '?')),
        'group_labels': payload.get('groupLabels') if isinstance(payload.get('groupLabels'), dict) else {},
        'alerts': names,
        'alert_status': status,
    }


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # Alertmanager sends one request per receiver integration at once


class Sink:
    def __init__(self, out):
        self.out = out
        self.lock = threading.Lock()
        self.delivered = 0
        self.rejected = 0
        self.write_failed = 0

    def append(self, line):
        with self.lock:
            with open(self.out, 'a') as fh:
                fh.write(json.dumps(line, sort_keys=False) + '\n')
            self.delivered += 1

    def reject(self):
        with self.lock:
            self.rejected += 1

    def failed_write(self):
        with self.lock:
            self.write_failed += 1

    def health(self):
        with self.lock:
            return {'delivered': self.delivered, 'rejected': self.rejected, 'write_failed': self.write_failed,
                    'out': self.out}


def handler(sink):
    class Handler(BaseHTTPRequestHandler):
        def reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path in ('/health', '/-/ready'):
                self.reply(200, sink.health())
            else:
                self.reply(404, {'error': 'POST Alertmanager webhooks to any path; GET /health'})

        def do_POST(self):
            try:
                length = int(self.headers.get('Content-Length', '0'))
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY:
                sink.reject()
                self.reply(413 if length > MAX_BODY else 400, {'error': 'bad or too large Content-Length'})
                return
            try:
                line = record(self.path, json.loads(self.rfile.read(length) or b'null'))
            except (ValueError, UnicodeDecodeError) as e:  # json.JSONDecodeError and PayloadError
                sink.reject()
                self.log_message('rejected %s: %s', self.path, e)
                self.reply(400, {'error': str(e)})
                return
            try:
                sink.append(line)
            except OSError as e:
                # 500: Alertmanager retries, and AlertmanagerNotificationsFailing tells the operator.
                sink.failed_write()
                self.log_message('cannot append to %s: %s', sink.out, e)
                self.reply(500, {'error': f'cannot append to {sink.out}: {e}'})
                return
            self.log_message('%s %s %s', line['path'], line['status'], ','.join(line['alerts']))
            self.reply(200, {'ok': True})

        def log_message(self, fmt, *args):
            sys.stderr.write('[notify-sink] ' + (fmt % args) + '\n')

    return Handler


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--listen', default='127.0.0.1:9099', help='HOST:PORT')
    ap.add_argument('--out', default=os.path.join('.run', 'notifications.jsonl'))
    args = ap.parse_args(argv)
    host, _, port = args.listen.rpartition(':')
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    sink = Sink(os.path.abspath(args.out))
    server = Server((host or '127.0.0.1', int(port)), handler(sink))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    sys.stderr.write(f'[notify-sink] listening on {args.listen}, appending to {sink.out}\n')
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()


if __name__ == '__main__':
    main(sys.argv[1:])
