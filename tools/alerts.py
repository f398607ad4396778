#!/usr/bin/env python3
"""`make alerts`: what the local stack delivered and what is firing now.

  1. delivered — the last --last notifications the local sink wrote (tools/notify_sink.py,
     <run dir>/notifications.jsonl): time, receiver/integration, status, alert names;
  2. Alertmanager — active alerts from GET /api/v2/alerts (with silenced/inhibited state);
  3. Prometheus — pending and firing alerts from GET /api/v1/alerts.

An unreachable source is reported on its line and the others are still printed; the exit status
is 0 unless every source failed. Stdlib only.

  tools/alerts.py [--run-dir .run] [--alertmanager http://127.0.0.1:9093]
                  [--prometheus http://127.0.0.1:9095] [--last 20]
"""
import argparse
import json
import os
import sys
import urllib.request


def fetch_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def delivered_lines(path, last):
    try:
        with open(path) as fh:
            raw = [line for line in fh if line.strip()]
    except FileNotFoundError:
        return [f'  (no {path} yet: nothing delivered, or the stack was not started by make run)'], True
    out = [f'  {len(raw)} notification(s) in {path}' + (f', last {last}:' if len(raw) > last else ':')]
    for line in raw[-last:]:
        try:
            n = json.loads(line)
        except ValueError:
            out.append('  (unreadable line)')
            continue
        when = str(n.get('received_at', '?'))[11:19]
        where = str(n.get('path', '?')).lstrip('/')
        out.append(f'  {when}  {where:<16} {n.get("status", "?"):<9} {", ".join(n.get("alerts", []))}')
    return out, True


def am_lines(base):
    alerts = fetch_json(base.rstrip('/') + '/api/v2/alerts')
    if not alerts:
        return ['  none active']
    out = []
    for a in sorted(alerts, key=lambda a: (a['labels'].get('severity', ''), a['labels'].get('alertname', ''))):
        labels = a.get('labels', {})
        state = a.get('status', {}).get('state', '?')
        extra = ' '.join(f'{k}={labels[k]}' for k in ('service', 'instance') if k in labels)
        out.append(f'  {state:<11} {labels.get("severity", "?"):<9} {labels.get("alertname", "?"):<34} '
                   f'{extra}  since {str(a.get("startsAt", "?"))[:19]}')
    return out


def prom_lines(base):
    body = fetch_json(base.rstrip('/') + '/api/v1/alerts')
    alerts = body.get('data', {}).get('alerts', [])
    if not alerts:
        return ['  none pending or firing']
    out = []
    for a in sorted(alerts, key=lambda a: (a.get('state') != 'firing', a['labels'].get('alertname', ''))):
        labels = a.get('labels', {})
        out.append(f'  {a.get("state", "?"):<8} {labels.get("severity", "?"):<9} {labels.get("alertname", "?"):<34} '
                   f'{labels.get("service", "")}  active since {str(a.get("activeAt", "?"))[:19]}')
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
    ap.add_argument('--run-dir', default=os.environ.get('RUN_DIR', os.path.join(root, '.run')))
    ap.add_argument('--alertmanager', default=f'http://127.0.0.1:{os.environ.get("AM_PORT", "9093")}')
    ap.add_argument('--prometheus', default=f'http://127.0.0.1:{os.environ.get("PROM_PORT", "9095")}')
    ap.add_argument('--last', type=int, default=20)
    args = ap.parse_args(argv)
    failures = 0
    print('Delivered by the local Alertmanager (notification sink):')
    lines, _ = delivered_lines(os.path.join(args.run_dir, 'notifications.jsonl'), max(args.last, 1))
    print('\n'.join(lines))
    for title, url, fn in (('Active in Alertmanager', args.alertmanager, am_lines),
                           ('Pending/firing in Prometheus', args.prometheus, prom_lines)):
        print(f'\n{title} ({url}):')
        try:
            print('\n'.join(fn(url)))
        except (OSError, ValueError, KeyError, AttributeError) as e:
            failures += 1
            print(f'  unreachable or unexpected answer: {e}')
    if failures == 2:
        print('\nNeither Alertmanager nor Prometheus answered: is the stack up (make status, make run)?')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
