#!/usr/bin/env python3
"""Render the ECS monitoring configuration from the repository's files.

    deploy/monitoring/render.sh OUTDIR --runbook-base-url URL [--environment btc-pipeline]
        [--namespace btc-pipeline.internal] [--region us-east-1] [--services deploy/ecs/services.yaml]

Reads prometheus/prometheus.yml + rules, alertmanager/alertmanager.yml + templates, grafana/ and
prometheus/exporters/yace.yml and writes the build contexts of the monitoring images
(deploy/docker/monitoring-*.Dockerfile):

    OUTDIR/prometheus/prometheus.yml, rules/*.yml   pipeline jobs via Cloud Map DNS SD (type A + port),
                                                    names and ports read from services.yaml; the
                                                    monitoring task's own containers on localhost
    OUTDIR/alertmanager/alertmanager.yml, templates/ routing as in the repo; secrets *_file under
                                                    /etc/alertmanager/secrets (written at start from
                                                    Secrets Manager env vars by entrypoint.sh)
    OUTDIR/grafana/provisioning/, dashboards/       datasource -> http://localhost:9090
    OUTDIR/yace/yace.yml                            region / cluster / tag prefix of this environment

Every runbook_url is rewritten from the repository's placeholder base to --runbook-base-url.
Exits non-zero with a clear message if a scrape job has no Cloud Map service in services.yaml,
if the ports disagree, or if the base URL is the placeholder.
"""
import argparse
import copy
import glob
import os
import re
import shutil
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'prometheus'))
from render_local import RUNBOOK_PLACEHOLDER, rewrite_runbook_base  # noqa: E402

# Prometheus job (monitoring spec names) -> Cloud Map service name registered by services.yaml.
PIPELINE_JOBS = {
    'ingestor-sbe-service': 'ingestor',
    'aggregator-service': 'aggregator',
    'inference-service': 'inference',
}
# Containers of the monitoring task itself (same network namespace: localhost).
LOCAL_JOBS = {
    'prometheus': 9090,
    'alertmanager': 9093,
    'redis-exporter': 9121,
    'aws-cloudwatch': 5000,
}
DNS_REFRESH = '30s'


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that keeps CloudFormation short-form tags as plain values."""


def _any(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node, deep=True)}
    return {suffix: loader.construct_mapping(node, deep=True)}


CfnLoader.add_multi_constructor('!', _any)


def registered_services(services_yaml):
    """{Cloud Map service name: container port} from the ECS services' ServiceRegistries."""
    with open(services_yaml) as fh:
        tpl = yaml.load(fh, Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass
    res = tpl.get('Resources') or {}
    names = {lid: r['Properties']['Name'] for lid, r in res.items()
             if r.get('Type') == 'AWS::ServiceDiscovery::Service'}
    out = {}
    for r in res.values():
        if r.get('Type') != 'AWS::ECS::Service':
            continue
        for reg in r.get('Properties', {}).get('ServiceRegistries') or []:
            arn = reg.get('RegistryArn')
            lid = arn.get('GetAtt', '').split('.')[0] if isinstance(arn, dict) else None
            if lid in names:
                out[names[lid]] = reg.get('ContainerPort')
    return out


def render_prometheus(cfg, registered, namespace, environment):
    out = copy.deepcopy(cfg)
    out['global'].setdefault('external_labels', {})['environment'] = environment
    out['alerting'] = {'alertmanagers': [{'static_configs': [{'targets': [f'localhost:{LOCAL_JOBS["alertmanager"]}']}]}]}
    out['rule_files'] = ['rules/*.yml']
    jobs = []
    for job in cfg['scrape_configs']:
        name = job['job_name']
        job = copy.deepcopy(job)
        static = job.pop('static_configs', [])
        labels = {k: v for sc in static for k, v in (sc.get('labels') or {}).items()}
        if name in PIPELINE_JOBS:
            svc = PIPELINE_JOBS[name]
            if svc not in registered:
                raise SystemExit(f'render: job {name!r} needs Cloud Map service {svc!r}, '
                                 f'services.yaml registers {sorted(registered)}')
            port = int(static[0]['targets'][0].rsplit(':', 1)[1])
            if registered[svc] != port:
                raise SystemExit(f'render: job {name!r} scrapes :{port}, services.yaml registers {svc} on :{registered[svc]}')
            job['dns_sd_configs'] = [{'names': [f'{svc}.{namespace}'], 'type': 'A', 'port': port,
                                      'refresh_interval': DNS_REFRESH}]
            if labels:
                # dns_sd_configs has no `labels`: attach the static labels by relabelling.
                job['relabel_configs'] = [{'target_label': k, 'replacement': v} for k, v in labels.items()]
        elif name in LOCAL_JOBS:
            sc = {'targets': [f'localhost:{LOCAL_JOBS[name]}']}
            if labels:
                sc['labels'] = labels
            job['static_configs'] = [sc]
        else:
            raise SystemExit(f'render: no ECS mapping for scrape job {name!r} (add it to deploy/monitoring/render.py)')
        jobs.append(job)
    out['scrape_configs'] = jobs
    return out


def render_grafana(src, dst):
    shutil.copytree(os.path.join(src, 'dashboards'), os.path.join(dst, 'dashboards'))
    prov = os.path.join(dst, 'provisioning')
    os.makedirs(os.path.join(prov, 'datasources'))
    os.makedirs(os.path.join(prov, 'dashboards'))
    with open(os.path.join(src, 'provisioning', 'datasources', 'prometheus.yml')) as fh:
        ds = yaml.safe_load(fh)
    for d in ds['datasources']:
        if d.get('type') == 'prometheus':
            d['url'] = f'http://localhost:{LOCAL_JOBS["prometheus"]}'
    with open(os.path.join(prov, 'datasources', 'prometheus.yml'), 'w') as fh:
        fh.write('# Rendered by deploy/monitoring/render.sh; do not edit.\n')
        yaml.safe_dump(ds, fh, sort_keys=False)
    with open(os.path.join(src, 'provisioning', 'dashboards', 'dashboards.yml')) as fh:
        dp = yaml.safe_load(fh)
    for p in dp['providers']:
        p['options']['path'] = '/etc/grafana/dashboards'  # /var/lib/grafana is a writable volume
    with open(os.path.join(prov, 'dashboards', 'dashboards.yml'), 'w') as fh:
        fh.write('# Rendered by deploy/monitoring/render.sh; do not edit.\n')
        yaml.safe_dump(dp, fh, sort_keys=False)


def render_yace(text, region, environment):
    text = re.sub(r'regions: \[us-east-1\]', f'regions: [{region}]', text)
    # AWS/Billing exists in us-east-1 only.
    text = re.sub(r'(namespace: AWS/Billing\n\s+regions: )\[[^\]]+\]', r'\1[us-east-1]', text)
    text = text.replace('value: ^btc-pipeline', f'value: ^{environment}')
    text = re.sub(r'(- name: ClusterName\n\s+value: )btc-pipeline\b', rf'\g<1>{environment}', text)
    return text


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('outdir')
    ap.add_argument('--runbook-base-url', required=True,
                    help='where docs/runbooks.md is served, e.g. https://github.com/acme/btc-pipeline/blob/main/docs/runbooks.md')
    ap.add_argument('--environment', default='btc-pipeline')
    ap.add_argument('--namespace', default='btc-pipeline.internal')
    ap.add_argument('--region', default='us-east-1')
    ap.add_argument('--services', default=os.path.join(ROOT, 'deploy', 'ecs', 'services.yaml'))
    args = ap.parse_args(argv)
    base = args.runbook_base_url.rstrip('/')
    if base == RUNBOOK_PLACEHOLDER or '/ORG/' in base or not re.match(r'^https?://[^/\s]+', base):
        raise SystemExit(f'render: --runbook-base-url {base!r} is not a real http(s) URL')

    if os.path.exists(args.outdir):
        shutil.rmtree(args.outdir)
    prom, am, graf, yace = (os.path.join(args.outdir, d) for d in ('prometheus', 'alertmanager', 'grafana', 'yace'))
    os.makedirs(os.path.join(prom, 'rules'))
    os.makedirs(os.path.join(am, 'templates'))
    os.makedirs(yace)

    with open(os.path.join(ROOT, 'prometheus', 'prometheus.yml')) as fh:
        cfg = yaml.safe_load(fh)
    rendered = render_prometheus(cfg, registered_services(args.services), args.namespace, args.environment)
    with open(os.path.join(prom, 'prometheus.yml'), 'w') as fh:
        fh.write('# Rendered by deploy/monitoring/render.sh from prometheus/prometheus.yml; do not edit.\n')
        yaml.safe_dump(rendered, fh, sort_keys=False, width=200)
    for rule in sorted(glob.glob(os.path.join(ROOT, 'prometheus', 'rules', '*.yml'))):
        with open(rule) as fh:
            text = rewrite_runbook_base(fh.read(), base)
        with open(os.path.join(prom, 'rules', os.path.basename(rule)), 'w') as fh:
            fh.write(text)

    shutil.copy(os.path.join(ROOT, 'alertmanager', 'alertmanager.yml'), am)
    for tmpl in glob.glob(os.path.join(ROOT, 'alertmanager', 'templates', '*.tmpl')):
        shutil.copy(tmpl, os.path.join(am, 'templates'))
    shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'alertmanager-entrypoint.sh'),
                os.path.join(am, 'entrypoint.sh'))

    render_grafana(os.path.join(ROOT, 'grafana'), graf)

    with open(os.path.join(ROOT, 'prometheus', 'exporters', 'yace.yml')) as fh:
        text = render_yace(fh.read(), args.region, args.environment)
    with open(os.path.join(yace, 'yace.yml'), 'w') as fh:
        fh.write(text)
    print(args.outdir)


if __name__ == '__main__':
    main(sys.argv[1:])
