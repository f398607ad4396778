#!/usr/bin/env python3
"""Render a local prometheus.yml (127.0.0.1 targets, same job names and intervals) from
prometheus/prometheus.yml and copy the rule files next to it.

Usage: render_local.py OUTDIR [--prom-port 9095] [--am-port 9093] [--ingestor-port 9090]
           [--aggregator-port 9091] [--inference-port 9092] [--redis-exporter-port 9121]
           [--yace-port PORT] [--runbook-base-url URL]
Writes OUTDIR/prometheus.yml and OUTDIR/rules/*.yml. The 'aws-cloudwatch' job is kept only
when --yace-port is given (there is no CloudWatch locally). Production-only relabelling is
kept as is, so the local config exercises the same rules and metric names.
Every runbook_url is rewritten from the placeholder base in prometheus/rules to
--runbook-base-url (default: this checkout's docs/runbooks.md as a file:// URL).
"""
import argparse
import copy
import glob
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
# The base every runbook_url in prometheus/rules is written with; render scripts replace it.
RUNBOOK_PLACEHOLDER = 'https://github.com/ORG/btc-pipeline/blob/main/docs/runbooks.md'


def rewrite_runbook_base(text, base):
    """Point every runbook_url (placeholder base + '#anchor') at `base`."""
    return text.replace(RUNBOOK_PLACEHOLDER + '#', base.rstrip('/') + '#')
JOB_PORT_ARGS = {
    'prometheus': 'prom_port',
    'alertmanager': 'am_port',
    'ingestor-sbe-service': 'ingestor_port',
    'aggregator-service': 'aggregator_port',
    'inference-service': 'inference_port',
    'redis-exporter': 'redis_exporter_port',
    'aws-cloudwatch': 'yace_port',
}


def localize(cfg, ports):
    out = copy.deepcopy(cfg)
    out.setdefault('global', {}).setdefault('external_labels', {})['environment'] = 'local'
    out['alerting'] = {'alertmanagers': [{'static_configs': [{'targets': [f'127.0.0.1:{ports["am_port"]}']}]}]}
    out['rule_files'] = ['rules/*.yml']
    jobs = []
    for job in cfg['scrape_configs']:
        arg = JOB_PORT_ARGS.get(job['job_name'])
        if arg is None:
            raise SystemExit(f'render_local: no local port mapping for job {job["job_name"]!r}')
        port = ports.get(arg)
        if port is None:
            continue
        job = copy.deepcopy(job)
        for sd in job.get('static_configs', []):
            sd['targets'] = [f'127.0.0.1:{port}' for _ in sd['targets']]
        jobs.append(job)
    out['scrape_configs'] = jobs
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('outdir')
    ap.add_argument('--prom-port', type=int, default=9095)
    ap.add_argument('--am-port', type=int, default=9093)
    ap.add_argument('--ingestor-port', type=int, default=9090)
    ap.add_argument('--aggregator-port', type=int, default=9091)
    ap.add_argument('--inference-port', type=int, default=9092)
    ap.add_argument('--redis-exporter-port', type=int, default=9121)
    ap.add_argument('--yace-port', type=int, default=None)
    ap.add_argument('--runbook-base-url',
                    default='file://' + os.path.join(os.path.dirname(HERE), 'docs', 'runbooks.md'))
    ap.add_argument('--config', default=os.path.join(HERE, 'prometheus.yml'))
    args = ap.parse_args(argv)
    with open(args.config) as fh:
        cfg = yaml.safe_load(fh)
    rules_out = os.path.join(args.outdir, 'rules')
    os.makedirs(rules_out, exist_ok=True)
    for old in glob.glob(os.path.join(rules_out, '*.yml')):
        os.remove(old)
    for rule in sorted(glob.glob(os.path.join(os.path.dirname(args.config), 'rules', '*.yml'))):
        with open(rule) as fh:
            text = rewrite_runbook_base(fh.read(), args.runbook_base_url)
        with open(os.path.join(rules_out, os.path.basename(rule)), 'w') as fh:
            fh.write(text)
    path = os.path.join(args.outdir, 'prometheus.yml')
    with open(path, 'w') as fh:
        fh.write('# Rendered by prometheus/render-local.sh from prometheus/prometheus.yml; do not edit.\n')
        yaml.safe_dump(localize(cfg, vars(args)), fh, sort_keys=False, width=200)
    print(path)


if __name__ == '__main__':
    main(sys.argv[1:])
