#!/usr/bin/env python3
"""Live Alertmanager routing test: starts prometheus-alertmanager with the rendered local config
(alertmanager/render-local.sh --fast, every receiver a webhook to an in-process HTTP receiver),
posts alerts through the v2 API and checks which receiver/integration each notification reached,
grouping and inhibition. Stdlib + PyYAML; binds 127.0.0.1 free ports; stops what it started.

Prints "ok   ..." / "FAIL ...: why" / "skip ...: reason"; exit status = number of failures.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
results = []


def check(name, ok, why=''):
    results.append(ok)
    print(('ok   ' if ok else 'FAIL ') + name + ('' if ok else ': ' + why))


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Receiver(BaseHTTPRequestHandler):
    received = []
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        with Receiver.lock:
            Receiver.received.append((self.path, json.loads(body or b'{}')))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def alert(name, severity, **labels):
    tier = {'critical': '1', 'warning': '2', 'info': '3'}[severity]
    return {'labels': {'alertname': name, 'severity': severity, 'tier': tier, **labels},
            'annotations': {'summary': f'{name} test', 'description': 'am_live_test',
                            'runbook_url': 'https://github.com/ORG/btc-pipeline/blob/main/docs/runbooks.md'}}


def post(url, data):
    req = urllib.request.Request(url, data=json.dumps(data).encode(), method='POST',
                                 headers={'Content-Type': 'application/json'})
    urllib.request.urlopen(req, timeout=5).read()


def get(url):
    return json.loads(urllib.request.urlopen(url, timeout=5).read())


def notifications(path_suffix=None):
    with Receiver.lock:
        got = list(Receiver.received)
    return [(p, b) for p, b in got if path_suffix is None or p.endswith(path_suffix)]


def names_at(path):
    return sorted({a['labels']['alertname'] for p, b in notifications(path) for a in b.get('alerts', [])})


def main():
    binary = shutil.which('prometheus-alertmanager') or shutil.which('alertmanager')
    if not binary:
        print('skip live Alertmanager routing test: prometheus-alertmanager not installed (deploy/local/bootstrap.sh)')
        return 0
    tmp = tempfile.mkdtemp(prefix='am-live-')
    hook_port, am_port = free_port(), free_port()
    server = HTTPServer(('127.0.0.1', hook_port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proc = None
    try:
        subprocess.run([os.path.join(ROOT, 'alertmanager', 'render-local.sh'), tmp, '--webhook-url',
                        f'http://127.0.0.1:{hook_port}/hook', '--fast'], check=True, capture_output=True)
        log = open(os.path.join(tmp, 'alertmanager.log'), 'w')
        proc = subprocess.Popen([binary, f'--config.file={tmp}/alertmanager.yml', f'--storage.path={tmp}/data',
                                 f'--web.listen-address=127.0.0.1:{am_port}', '--cluster.listen-address='],
                                stdout=log, stderr=subprocess.STDOUT)
        base = f'http://127.0.0.1:{am_port}'
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                urllib.request.urlopen(base + '/-/ready', timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        else:
            check('Alertmanager starts with the rendered local config', False, open(log.name).read()[-2000:])
            return 1
        check('Alertmanager starts with the rendered local config', True)

        post(base + '/api/v2/alerts', [
            alert('ReanchorFailed', 'critical', service='aggregator', instance='agg:9091'),
            alert('RedisOperationsSlow', 'warning', service='aggregator', instance='agg:9091'),   # inhibited
            alert('SbeSequenceGaps', 'warning', service='ingestor', instance='ing:9090'),
            alert('CpuUtilizationHigh', 'info', service='infrastructure', instance='inf:9092'),
            alert('RedisReadLatencyHigh', 'warning', service='inference', instance='inf:9092'),   # latency group
            alert('ModelInferenceSlow', 'warning', service='inference', instance='inf:9092'),     # same group
            alert('RedisMemoryHigh', 'warning', service='redis', cluster='c1', node='primary', instance='rx:9121'),
            alert('RedisClientsBlocked', 'warning', service='redis', cluster='c1', node='primary', instance='rx:9121'),
            # Every ECS alert comes through YACE (instance=yace:5000): one service's tasks down must
            # mute that service's ECS warnings only, not every other ECS service's.
            alert('EcsTasksDown', 'critical', service='ecs', instance='yace:5000', dimension_ServiceName='inference'),
            alert('EcsMemoryHigh', 'warning', service='ecs', instance='yace:5000', dimension_ServiceName='inference'),  # inhibited
            alert('EcsCpuHigh', 'warning', service='ecs', instance='yace:5000', dimension_ServiceName='aggregator'),
        ])
        want_paths = {'/hook/critical/pager', '/hook/critical/chat', '/hook/critical/sms', '/hook/warning/chat',
                      '/hook/warning/email', '/hook/info/chat'}
        deadline = time.time() + 25
        while time.time() < deadline:
            paths = {p for p, _ in notifications()}
            if want_paths <= paths and len(names_at('/hook/warning/chat')) >= 6:
                break
            time.sleep(0.5)
        time.sleep(2)  # let any wrongly routed notification arrive too

        check('critical -> pager + chat + SMS webhooks', all(names_at(f'/hook/critical/{i}') == ['EcsTasksDown', 'ReanchorFailed']
                                                              for i in ('pager', 'chat', 'sms')),
              str({i: names_at(f'/hook/critical/{i}') for i in ('pager', 'chat', 'sms')}))
        warn = names_at('/hook/warning/chat')
        check('warning -> chat + e-mail webhooks',
              'SbeSequenceGaps' in warn and 'SbeSequenceGaps' in names_at('/hook/warning/email'), str(warn))
        check('info -> chat (logs) only', names_at('/hook/info/chat') == ['CpuUtilizationHigh']
              and 'CpuUtilizationHigh' not in warn, str(names_at('/hook/info/chat')))
        receivers = {b.get('receiver') for p, b in notifications() if p.startswith('/hook/critical/')}
        check('payload receiver field names the route (critical)', receivers == {'critical'}, str(receivers))
        delivered = {a['labels']['alertname'] for _, b in notifications() for a in b.get('alerts', [])}
        state = {a['labels']['alertname']: a['status'] for a in get(base + '/api/v2/alerts')}
        check('inhibition: critical ReanchorFailed mutes warning RedisOperationsSlow of the same instance',
              'RedisOperationsSlow' not in delivered and state.get('RedisOperationsSlow', {}).get('inhibitedBy'),
              f'delivered={sorted(delivered)} status={state.get("RedisOperationsSlow")}')
        check('inhibition: EcsTasksDown of one ECS service mutes only that service\'s ECS warnings '
              '(equal on dimension_ServiceName; all share instance=yace:5000)',
              'EcsCpuHigh' in delivered and 'EcsMemoryHigh' not in delivered
              and state.get('EcsMemoryHigh', {}).get('inhibitedBy'),
              f'delivered={sorted(delivered)} EcsCpuHigh={state.get("EcsCpuHigh")}')
        latency = [b for p, b in notifications('/hook/warning/chat')
                   if b.get('groupLabels') == {'service': 'inference', 'instance': 'inf:9092'}]
        check('grouping: inference latency alerts share one notification grouped by service, instance',
              any(sorted(a['labels']['alertname'] for a in b['alerts']) == ['ModelInferenceSlow', 'RedisReadLatencyHigh']
                  for b in latency), json.dumps([b.get('groupLabels') for _, b in notifications('/hook/warning/chat')]))
        redis = [b for p, b in notifications('/hook/warning/chat') if b.get('groupLabels') == {'cluster': 'c1', 'node': 'primary'}]
        check('grouping: Redis alerts share one notification grouped by cluster, node',
              any(len(b['alerts']) == 2 for b in redis), json.dumps([b.get('groupLabels') for _, b in notifications()]))
    finally:
        if proc:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        server.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    return sum(1 for r in results if not r)


if __name__ == '__main__':
    sys.exit(min(main(), 100))
