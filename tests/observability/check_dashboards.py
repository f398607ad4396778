#!/usr/bin/env python3
"""Offline validation of grafana/ (no Grafana available): prints "ok  <check>" / "FAIL <check>: why".

  - dashboards are up to date with grafana/generate_dashboards.py
  - JSON structure: uid/title/panels/templating/schemaVersion, gridPos within 24 columns,
    known panel types, every target has refId and expr, datasource uids are provisioned
  - dashboard uids unique; panel ids unique per dashboard
  - template variables `service` and `interval` present
  - recording-rule names used in expressions (names with ':') are defined in prometheus/rules
  - every expression compiles: Grafana variables are substituted, each expr is wrapped as a
    recording rule and the file is checked with `promtool check rules`
  - latency panels carry an SLO threshold line
Exit status: number of failed checks (capped at 100).
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
GRAFANA = os.path.join(ROOT, 'grafana')
PANEL_TYPES = {'row', 'timeseries', 'stat', 'table', 'gauge', 'bargauge', 'text', 'heatmap', 'piechart'}
VARS = {'$__rate_interval': '1m', '$__interval': '1m', '$__range': '1h', '${interval}': '5m', '$interval': '5m',
        '${service}': '.*', '$service': '.*'}
results = []


def check(name, ok, why=''):
    results.append(ok)
    print(('ok   ' if ok else 'FAIL ') + name + ('' if ok else ': ' + why))


def all_panels(panels):
    for p in panels:
        yield p
        yield from all_panels(p.get('panels', []))


def substitute(expr):
    for k in sorted(VARS, key=len, reverse=True):
        expr = expr.replace(k, VARS[k])
    return expr


def main():
    gen = subprocess.run([sys.executable, os.path.join(GRAFANA, 'generate_dashboards.py'), '--check'],
                         capture_output=True, text=True)
    check('dashboards match grafana/generate_dashboards.py', gen.returncode == 0, (gen.stdout + gen.stderr).strip())

    ds_uids = set()
    for path in glob.glob(os.path.join(GRAFANA, 'provisioning', 'datasources', '*.yml')):
        for ds in (yaml.safe_load(open(path)) or {}).get('datasources', []):
            ds_uids.add(ds.get('uid'))
    prov = glob.glob(os.path.join(GRAFANA, 'provisioning', 'dashboards', '*.yml'))
    check('provisioning: a prometheus datasource with a uid and a dashboard provider exist',
          'prometheus' in ds_uids and bool(prov), f'datasource uids {ds_uids}, providers {prov}')

    defined = set()
    rule_files = glob.glob(os.path.join(ROOT, 'prometheus', 'rules', '*.yml'))
    check(f'{len(rule_files)} Prometheus rule files found', bool(rule_files), 'prometheus/rules/*.yml is empty')
    for path in rule_files:
        for g in yaml.safe_load(open(path))['groups']:
            defined.update(r['record'] for r in g['rules'] if 'record' in r)

    uids = {}
    exprs = []
    for path in sorted(glob.glob(os.path.join(GRAFANA, 'dashboards', '*.json'))):
        name = os.path.relpath(path, ROOT)
        try:
            dash = json.load(open(path, encoding='utf-8'))
        except ValueError as e:
            check(f'{name}: valid JSON', False, str(e))
            continue
        problems = []
        for key in ('uid', 'title', 'panels', 'templating', 'schemaVersion'):
            if key not in dash:
                problems.append(f'missing {key}')
        uids.setdefault(dash.get('uid'), []).append(name)
        ids = []
        for p in all_panels(dash.get('panels', [])):
            ids.append(p.get('id'))
            title = p.get('title', '?')
            if p.get('type') not in PANEL_TYPES:
                problems.append(f'panel {title!r}: unknown type {p.get("type")!r}')
            gp = p.get('gridPos', {})
            if not all(isinstance(gp.get(k), int) for k in ('x', 'y', 'w', 'h')) or gp['x'] + gp['w'] > 24:
                problems.append(f'panel {title!r}: bad gridPos {gp}')
            if p.get('type') == 'row':
                continue
            if (p.get('datasource') or {}).get('uid') not in ds_uids:
                problems.append(f'panel {title!r}: datasource {p.get("datasource")} not provisioned')
            if not p.get('targets'):
                problems.append(f'panel {title!r}: no targets')
            refs = [t.get('refId') for t in p.get('targets', [])]
            if len(set(refs)) != len(refs) or None in refs:
                problems.append(f'panel {title!r}: refIds {refs}')
            for t in p.get('targets', []):
                if not t.get('expr'):
                    problems.append(f'panel {title!r}: target {t.get("refId")} without expr')
                    continue
                exprs.append((f'{name}:{title}:{t["refId"]}', t['expr']))
                for rec in re.findall(r'\b[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]+', t['expr']):
                    if rec not in defined:
                        problems.append(f'panel {title!r}: recording rule {rec} is not defined in prometheus/rules')
            if 'latency' in title.lower() and p.get('type') == 'timeseries':
                steps = p['fieldConfig']['defaults'].get('thresholds', {}).get('steps', [])
                style = p['fieldConfig']['defaults'].get('custom', {}).get('thresholdsStyle', {}).get('mode')
                if style != 'line' or not [s for s in steps if s.get('value') is not None]:
                    problems.append(f'panel {title!r}: latency panel without an SLO threshold line')
        dupes = sorted({i for i in ids if ids.count(i) > 1 or i is None}, key=str)
        if dupes:
            problems.append(f'duplicate/missing panel ids {dupes}')
        var_names = {v.get('name') for v in dash.get('templating', {}).get('list', [])}
        if not {'service', 'interval'} <= var_names:
            problems.append(f'template variables {sorted(var_names)} lack service/interval')
        check(f'{name}: structure, unique panel ids, datasources, variables, thresholds', not problems, '; '.join(problems))
    # Counts, so an empty or moved directory cannot pass: the two dashboards and their expressions.
    n_dash = len(glob.glob(os.path.join(GRAFANA, 'dashboards', '*.json')))
    check(f'{n_dash} dashboards found (executive + technical at least)', n_dash >= 2,
          f'{n_dash} files in grafana/dashboards')
    check(f'{len(exprs)} panel expressions found', len(exprs) >= max(1, n_dash), 'no panel expression to check')
    dup_uids = {u: n for u, n in uids.items() if len(n) > 1 or not u}
    check(f'{len(uids)} dashboard uids are unique', not dup_uids, str(dup_uids))

    rules = {'groups': [{'name': 'dashboard-exprs', 'rules': [
        {'record': f'dashboard:expr_{i}:check', 'expr': substitute(e)} for i, (_, e) in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile('w', suffix='.yml', delete=False) as fh:
        yaml.safe_dump(rules, fh)
        tmp = fh.name
    try:
        res = subprocess.run(['promtool', 'check', 'rules', tmp], capture_output=True, text=True)
    finally:
        os.unlink(tmp)
    why = (res.stdout + res.stderr).strip()
    for i, (where, _) in enumerate(exprs):
        why = why.replace(f'dashboard:expr_{i}:check', where)
    check(f'{len(exprs)} dashboard expressions compile (promtool check rules)', res.returncode == 0, why)
    return sum(1 for r in results if not r)


if __name__ == '__main__':
    sys.exit(min(main(), 100))
