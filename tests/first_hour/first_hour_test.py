#!/usr/bin/env python3
"""What a newcomer gets from `make run`, tested on a real local stack (deploy/local/stack.sh) in a
temporary run directory on free loopback ports, stopped at the end (its own PIDs only):

  infra phase (always): the Alertmanager the stack renders posts to webhook targets that are
    listening (the notification sink), a test alert fired through the Alertmanager API is appended
    to <run dir>/notifications.jsonl (receiver, route path, alert names, status), Alertmanager
    counts no failed notification (so AlertmanagerNotificationsFailing cannot fire), the sink
    refuses a malformed body with 400 and counts it, `tools/alerts.py` (make alerts) prints the
    delivered notification and the firing alert.
  services phase (unless --infra-only; needs target/<profile> binaries): the closing summary's
    ready-to-paste curl commands for the latest prediction and the SSE stream work, and
    `watch --once` renders the live stack.

Alertmanager is rendered with --fast (AM_FAST=1) so a notification arrives in ~1 s instead of the
production group_wait. Prints "ok   ..." / "FAIL ...: why"; exit status = number of failures.

  tests/first_hour/first_hour_test.py [--infra-only] [--profile debug|release]
"""
import argparse
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
STACK = os.environ.get('FIRST_HOUR_STACK', os.path.join(ROOT, 'deploy', 'local', 'stack.sh'))
results = []


def check(name, ok, why=''):
    results.append(bool(ok))
    print(('ok   ' if ok else 'FAIL ') + name + ('' if ok else ': ' + str(why)[-1500:]), flush=True)
    return ok


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def post(url, body, timeout=5):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method='POST', headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


def poll(fn, seconds):
    """fn() until truthy or the deadline; returns the last value."""
    deadline = time.time() + seconds
    value = None
    while time.time() < deadline:
        try:
            value = fn()
        except (OSError, ValueError):
            value = None
        if value:
            return value
        time.sleep(0.3)
    return value


def listening(url):
    u = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((u.hostname, u.port or 80), timeout=1):
            return True
    except OSError:
        return False


def running(pid):
    """A live (not zombie) process with this pid."""
    try:
        with open(f'/proc/{pid}/status') as fh:
            return 'zombie' not in fh.read().lower()
    except OSError:
        return False


def sink_lines(run_dir):
    path = os.path.join(run_dir, 'notifications.jsonl')
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def metric_sum(text, name):
    total, seen = 0.0, False
    for line in text.splitlines():
        if line.startswith(name + '{') or line.startswith(name + ' '):
            total += float(line.rsplit(' ', 1)[1])
            seen = True
    return total if seen else None


def infra_phase(env, run_dir, ports):
    am = f'http://127.0.0.1:{ports["AM_PORT"]}'
    prom = f'http://127.0.0.1:{ports["PROM_PORT"]}'
    cfg_path = os.path.join(run_dir, 'config', 'alertmanager', 'alertmanager.yml')
    with open(cfg_path) as fh:  # stdlib only: every webhook_configs entry renders as `- url: ...`
        urls = sorted(set(re.findall(r'^\s*-?\s*url:\s*[\'"]?(http://[^\s\'"]+)', fh.read(), re.M)))
    targets = sorted({urllib.parse.urlsplit(u).netloc for u in urls})
    deaf = [t for t in targets if not listening('http://' + t)]
    check('every webhook target of the local Alertmanager is listening', urls and not deaf,
          f'not listening: {deaf} (webhook URLs {urls})')

    post(am + '/api/v2/alerts', [{
        'labels': {'alertname': 'FirstHourTestAlert', 'severity': 'warning', 'tier': '2', 'service': 'test',
                   'instance': 'first-hour'},
        'annotations': {'summary': 'first_hour_test', 'description': 'fired by tests/first_hour'}}])

    def delivered():
        return [n for n in sink_lines(run_dir) if 'FirstHourTestAlert' in n.get('alerts', [])]
    got = poll(delivered, 25)
    if check('a test alert fired through Alertmanager is appended to notifications.jsonl', got,
             f'sink file: {sink_lines(run_dir)}; sink log: {tail(run_dir, "notify-sink")}'):
        n = got[0]
        check('the notification line names receiver, route path, alert names and status',
              n.get('receiver') == 'warning' and n.get('path', '').startswith('/warning/')
              and n.get('route') and n.get('status') == 'firing', json.dumps(n))

    # Every webhook request counts in *_requests_total, each failed one (refused, non-2xx) at once in
    # *_requests_failed_total; *_notifications_failed_total (what the rule watches) follows when
    # the retries give up.
    def am_counts():
        _, text = get(am + '/metrics')
        counts = tuple(metric_sum(text, f'alertmanager_{m}') for m in (
            'notification_requests_total', 'notification_requests_failed_total', 'notifications_failed_total'))
        return counts if counts[0] else None
    counts = poll(am_counts, 10)
    check('Alertmanager sent webhook requests and none failed (AlertmanagerNotificationsFailing cannot fire)',
          counts and counts[0] > 0 and counts[1] == 0 and counts[2] == 0,
          f'(requests, failed requests, failed notifications) = {counts}')

    sink = f'http://127.0.0.1:{ports["SINK_PORT"]}'
    status, body = post(sink + '/warning/chat', b'{not json')
    try:
        health = get(sink + '/health')[1]
    except OSError as e:
        health = str(e)
    check('the sink refuses a malformed body with 400 and counts it',
          status == 400 and '"rejected": 1' in health, f'{status} {body} health={health}')

    out = subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'alerts.py'), '--run-dir', run_dir,
                          '--alertmanager', am, '--prometheus', prom], capture_output=True, text=True, timeout=30)
    check('tools/alerts.py (make alerts) prints the delivered notification and the firing alert',
          out.returncode == 0 and out.stdout.count('FirstHourTestAlert') >= 2, out.stdout + out.stderr)


def tail(run_dir, name, n=20):
    try:
        with open(os.path.join(run_dir, 'logs', name + '.log')) as fh:
            return ''.join(fh.readlines()[-n:])
    except OSError as e:
        return str(e)


def curl_commands(summary):
    return [line.strip() for line in summary.splitlines() if line.strip().startswith('curl ')]


def services_phase(env, run_dir, ports, summary, profile):
    cmds = curl_commands(summary)
    latest = [c for c in cmds if '/v1/predictions/latest' in c]
    stream = [c for c in cmds if '/v1/predictions/stream' in c]
    check('the closing summary has a curl for the latest prediction and one for the SSE stream',
          latest and stream, summary)
    for word in ('make watch', 'make alerts', os.path.join(run_dir, 'logs')):
        check(f'the closing summary names {word}', word in summary, summary)
    if latest:
        def first_prediction():
            r = subprocess.run(shlex.split(latest[0]), capture_output=True, text=True, timeout=10)
            return r if r.returncode == 0 and '"p_up"' in r.stdout else None
        r = poll(first_prediction, 30)
        check('the summary\'s latest-prediction curl returns a prediction', r,
              f'{latest[0]} -> {tail(run_dir, "inference")}')
        if r:
            p = json.loads(r.stdout)
            check('the prediction carries direction, p_up, served_by', {'direction', 'p_up', 'served_by'} <= set(p), r.stdout)
    redis = [line.strip() for line in summary.splitlines() if line.strip().startswith('redis-cli ')]
    if check('the closing summary shows how to read the predictions stream in Redis', redis, summary):
        secret = open(os.path.join(run_dir, 'redis-secure', 'pw', 'inference')).read().strip()
        check('the summary never prints a Redis password (it reads the file when the command runs)',
              secret and secret not in summary, redis[0])
        r = subprocess.run(['bash', '-c', redis[0]], capture_output=True, text=True, timeout=10)
        check('the summary\'s redis-cli command returns the newest stream entry', r.returncode == 0 and '"p_up"' in r.stdout,
              f'{redis[0]} -> {r.stdout[-500:]} {r.stderr[-500:]}')
    if stream:
        # The SSE command streams until interrupted; run it until the first event, bounded.
        args = shlex.split(stream[0])
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines, deadline = [], time.time() + 20
        os.set_blocking(proc.stdout.fileno(), False)
        while time.time() < deadline and not any(line.startswith('data:') for line in lines):
            chunk = proc.stdout.readline()
            if chunk:
                lines.append(chunk)
            else:
                time.sleep(0.1)
        proc.terminate()
        proc.wait(timeout=5)
        check('the summary\'s SSE curl streams prediction events',
              any(line.startswith('event: prediction') for line in lines)
              and any(line.startswith('data:') and '"p_up"' in line for line in lines), ''.join(lines[:10]))
    watch = os.path.join(os.environ.get('CARGO_TARGET_DIR', os.path.join(ROOT, 'target')), profile, 'watch')
    if check('the watch binary is built', os.access(watch, os.X_OK), watch):
        args = [watch, '--once', '--inference', f'http://127.0.0.1:{ports["INFERENCE_PORT"]}',
                '--aggregator', f'http://127.0.0.1:{ports["AGGREGATOR_PORT"]}',
                '--ingestor', f'http://127.0.0.1:{ports["INGESTOR_PORT"]}',
                '--alertmanager', f'http://127.0.0.1:{ports["AM_PORT"]}']

        def rendered():
            r = subprocess.run(args, capture_output=True, text=True, timeout=15)
            return r if r.returncode == 0 and re.search(r'p_up\s+0\.\d', r.stdout) else None
        interactive(args[:1] + args[2:], b'q', 'q')
        interactive(args[:1] + args[2:], b'\x03', 'Ctrl-C')
        r = poll(rendered, 20)
        check('watch --once renders the live stack: prediction, health of the three services',
              r and all(s in r.stdout for s in ('ingestor', 'aggregator', 'inference')) and ' DOWN (' not in r.stdout,
              r.stdout if r else subprocess.run(args, capture_output=True, text=True, timeout=15).stdout)


def interactive(args, key, name):
    """Run watch on a pseudo-terminal: it must draw in place (the screen redrawn from the top-left
    at least twice), then leave on `key` with status 0 and the terminal restored."""
    import pty
    import select
    master, slave = pty.openpty()
    proc = subprocess.Popen(args + ['--interval', '0.5'], stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    out, deadline, sent = b'', time.time() + 20, False
    try:
        while time.time() < deadline and proc.poll() is None:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    out += os.read(master, 65536)
                except OSError:
                    break
            if not sent and out.count(b'\x1b[1;1H') >= 2 and b'PREDICTION' in out:
                os.write(master, key)
                sent = True
        rc = proc.wait(timeout=5)
        # What it wrote just before exiting (leaving the alternate screen) may still be unread.
        while select.select([master], [], [], 0.5)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = None
    finally:
        os.close(master)
    check(f'watch on a terminal redraws in place and exits on {name} (status 0, screen restored)',
          sent and rc == 0 and b'\x1b[?1049h' in out and b'\x1b[?1049l' in out,
          f'sent={sent} rc={rc} output tail={out[-300:]!r}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--infra-only', action='store_true')
    ap.add_argument('--profile', default='debug')
    args = ap.parse_args()
    run_dir = tempfile.mkdtemp(prefix='first-hour-')
    names = ['REDIS_PORT', 'KINESIS_PORT', 'PROM_PORT', 'AM_PORT', 'REDIS_EXPORTER_PORT', 'INGESTOR_PORT',
             'AGGREGATOR_PORT', 'INFERENCE_PORT', 'SIM_PORT', 'SINK_PORT']
    ports = dict(zip(names, free_ports(len(names))))
    env = dict(os.environ, RUN_DIR=run_dir, PROFILE=args.profile, AM_FAST='1', **{k: str(v) for k, v in ports.items()})
    env.pop('AM_WEBHOOK_URL', None)
    what = 'infra' if args.infra_only else 'all'
    started = time.time()
    up = subprocess.run(['bash', STACK, 'up', what], env=env, capture_output=True, text=True, timeout=180)
    try:
        if not check(f'stack.sh up {what} (run dir {run_dir})', up.returncode == 0, up.stdout + up.stderr):
            return 1
        print(f'     stack up in {time.time() - started:.1f}s', flush=True)
        infra_phase(env, run_dir, ports)
        if not args.infra_only:
            services_phase(env, run_dir, ports, up.stdout, args.profile)
    finally:
        pids = os.path.join(run_dir, 'pids')
        started_pids = {}
        for f in (os.listdir(pids) if os.path.isdir(pids) else []):
            with open(os.path.join(pids, f)) as fh:
                started_pids[f[:-4]] = int(fh.read().strip() or 0)
        subprocess.run(['bash', STACK, 'down'], env=env, capture_output=True, text=True, timeout=120)
        left = os.listdir(pids) if os.path.isdir(pids) else []
        alive = [n for n, pid in started_pids.items() if running(pid)]
        check('stack.sh down stops everything it started (sink included): no pid file, no process left',
              'notify-sink' in started_pids and not left and not alive, f'pid files {left}, alive {alive}')
    failed = sum(1 for r in results if not r)
    print(f'first hour: {len(results) - failed} passed, {failed} failed (took {time.time() - started:.1f}s)')
    return failed


if __name__ == '__main__':
    sys.exit(min(main(), 100))
