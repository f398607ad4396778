#!/usr/bin/env python3
"""Alertmanager routing checks with amtool, for one config file (production or rendered local).

    check_am_routes.py CONFIG [--cases alertmanager/tests/routes.yml] [--label NAME]
For every case in routes.yml:
    amtool config routes test --config.file=CONFIG --verify.receivers=<receiver> <labels>
    amtool config routes test --config.file=CONFIG --tree <labels>   (which route it went through)
and once per config: the grouping parameters of the root, latency, Redis and severity routes
match the expectations in routes.yml. Prints "ok   ..." / "FAIL ...: why" per check; exit status =
number of failures (capped at 100).
"""
import argparse
import os
import subprocess
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
results = []


def check(name, ok, why=''):
    results.append(ok)
    print(('ok   ' if ok else 'FAIL ') + name + ('' if ok else ': ' + why))


def amtool(*args):
    r = subprocess.run(['amtool', 'config', 'routes', 'test', *args], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def route_kind(tree_out):
    """Classify the matching path printed by `amtool config routes test --tree`."""
    path = tree_out.split('Matching routes:', 1)[-1]
    if 'alertname=~"InferenceLatencyP99High' in path:
        return 'latency'
    if '{service="redis"}' in path:
        return 'redis'
    if '{severity=' in path:
        return 'severity'
    return 'root'


def find_route(route, pred):
    for child in route.get('routes', []):
        if pred(child):
            return child
    return None


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument('config')
    ap.add_argument('--cases', default=os.path.join(ROOT, 'alertmanager', 'tests', 'routes.yml'))
    ap.add_argument('--label', default=None, help='name shown in the output (default: config path)')
    args = ap.parse_args(argv)
    label = args.label or os.path.relpath(args.config, ROOT)
    spec = yaml.safe_load(open(args.cases))

    for case in spec['cases']:
        labels = [f'{k}={v}' for k, v in case['labels'].items()]
        rc, out, err = amtool(f'--config.file={args.config}', f'--verify.receivers={case["receiver"]}', *labels)
        rc2, tree, err2 = amtool(f'--config.file={args.config}', '--tree', *labels)
        kind = route_kind(tree)
        ok = rc == 0 and rc2 == 0 and kind == case['via']
        why = f'receiver: {(out + err).strip()!r} (want {case["receiver"]}); route: {kind} (want {case["via"]})'
        check(f'[{label}] {case["name"]} -> {case["receiver"]} via {case["via"]}', ok, why)

    cfg = yaml.safe_load(open(args.config))
    root = cfg['route']
    routes = {
        'root': root,
        'latency': find_route(root, lambda r: any('InferenceLatencyP99High' in m for m in r.get('matchers', []))),
        'redis': find_route(root, lambda r: r.get('matchers') == ['service="redis"']),
        'critical': find_route(root, lambda r: r.get('matchers') == ['severity="critical"']),
        'warning': find_route(root, lambda r: r.get('matchers') == ['severity="warning"']),
    }
    fast = root.get('group_wait') == '1s'  # rendered with --fast: only the grouping keys are compared
    problems = []
    for name, want in spec['groups'].items():
        route = routes.get(name)
        if route is None:
            problems.append(f'{name}: route not found')
            continue
        for key, value in want.items():
            if fast and key in ('group_wait', 'group_interval'):
                continue
            if route.get(key) != value:
                problems.append(f'{name}.{key} = {route.get(key)!r}, want {value!r}')
    check(f'[{label}] grouping: latency by service,instance 30s/5m/1h; redis by cluster,node 10s/2m/30m; '
          'severity timings', not problems, '; '.join(problems))

    inhibit = cfg.get('inhibit_rules', [])
    crit_mutes_warn = any('severity="critical"' in r.get('source_matchers', [])
                          and any('warning' in m for m in r.get('target_matchers', []))
                          and {'service', 'instance'} <= set(r.get('equal', [])) for r in inhibit)
    check(f'[{label}] inhibition: a critical mutes the warnings of the same service/instance', crit_mutes_warn,
          str(inhibit))
    return sum(1 for r in results if not r)


if __name__ == '__main__':
    sys.exit(min(main(sys.argv[1:]), 100))
