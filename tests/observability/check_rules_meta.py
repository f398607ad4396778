#!/usr/bin/env python3
"""Static checks on prometheus/rules that promtool does not do.

Each check prints one line "ok   <name>" or "FAIL <name>: <why>"; exit status = number of failures (capped).
  - alert names unique; every alert has `for`, labels severity/service/tier, annotations
    summary/description/runbook_url; tier follows severity (critical 1, warning 2, info 3)
  - runbook_url = RUNBOOK_BASE + kebab-case(alertname) and that section exists in docs/runbooks.md
  - every alert of the monitoring spec (seed 000) is implemented (SPEC_ALERTS below)
  - every alert has a promtool test where it fires and one where it stays quiet
  - every recording rule is tested directly (promql_expr_test) or through a tested alert using it
"""
import glob
import os
import re
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
RUNBOOK_BASE = 'https://github.com/ORG/btc-pipeline/blob/main/docs/runbooks.md#'
TIER = {'critical': '1', 'warning': '2', 'info': '3'}

# Monitoring spec (seed 000) alert -> our alert name.
SPEC_ALERTS = {
    # Tier 1 table
    'T1 Inference P99 Latency >100ms': 'InferenceLatencyP99High',
    'T1 Prediction Frequency Deviation >10%': 'PredictionFrequencyDeviation',
    'T1 Service Availability <99.9%': 'SLABreach',
    'T1 Data Pipeline Failure': 'DataPipelineFailure',
    'T1 Redis Cluster Failure': 'RedisDown',
    # Tier 2 table
    'T2 Feature Freshness >5s': 'StaleFeatures',
    'T2 Prediction Accuracy Drop >20%': 'PredictionAccuracyDrop',
    'T2 Re-anchor Duration >60s': 'ReanchorDurationHigh',
    'T2 SBE Stream Disconnection >30s': 'SbeStreamDisconnected',
    'T2 Model Loading Failure': 'ModelLoadFailure',
    # Tier 3 table
    'T3 Memory Usage >80%': 'MemoryUsageHigh',
    'T3 CPU Utilization >70%': 'CpuUtilizationHigh',
    'T3 Network Latency >50ms': 'NetworkLatencyHigh',
    'T3 Storage Usage >85%': 'StorageUsageHigh',
    # Inference
    'Inference Latency P99 High': 'InferenceLatencyP99High',
    'Redis Read Latency High': 'RedisReadLatencyHigh',
    'Model Inference Slow': 'ModelInferenceSlow',
    'Prediction Frequency Low': 'PredictionFrequencyLow',
    'Prediction Frequency High': 'PredictionFrequencyHigh',
    'Stale Features': 'StaleFeatures',
    'Incomplete Features': 'IncompleteFeatures',
    'High Fallback Rate': 'HighFallbackRate',
    'health_check_failed': 'InferenceHealthCheckFailed',
    # Aggregator
    'Redis Operation Failures': 'RedisOperationFailures',
    'Redis Operations Slow': 'RedisOperationsSlow',
    'Feature Updates Stopped': 'FeatureUpdatesStopped',
    'Feature Computation Slow': 'FeatureComputationSlow',
    'Kinesis Processing Lag (aggregator_kinesis_lag_seconds)': 'KinesisProcessingLag',
    'Re-anchor Duration High': 'ReanchorDurationHigh',
    'Re-anchor Failed': 'ReanchorFailed',
    # Ingestor
    'SBE Stream Disconnected': 'SbeStreamDisconnected',
    'SBE Messages Stopped': 'SbeMessagesStopped',
    'SBE Decode Slow': 'SbeDecodeSlow',
    'SBE Throughput Low': 'SbeThroughputLow',
    'SBE Sequence Gaps': 'SbeSequenceGaps',
    'Frequent SBE Reconnections': 'FrequentSbeReconnections',
    'REST API Slow': 'RestApiSlow',
    'REST API Errors': 'RestApiErrors',
    'API Rate Limit Low': 'ApiRateLimitLow',
    # Redis
    'Redis Connection Pool Exhausted': 'RedisConnectionPoolExhausted',
    'Redis Clients Blocked': 'RedisClientsBlocked',
    'Redis Memory High': 'RedisMemoryHigh',
    'Redis Memory Critical': 'RedisMemoryCritical',
    'Redis Commands Slow': 'RedisCommandsSlow',
    'Redis Hit Rate Low': 'RedisHitRateLow',
    # AWS
    'Kinesis Throttling': 'KinesisThrottling',
    'Kinesis Processing Lag (aws_kinesis_iterator_age_milliseconds)': 'KinesisIteratorAgeHigh',
    'Lambda Duration High': 'LambdaDurationHigh',
    'Lambda Errors': 'LambdaErrors',
    'Lambda Throttling': 'LambdaThrottling',
    'ECS CPU High': 'EcsCpuHigh',
    'ECS Memory High': 'EcsMemoryHigh',
    'ECS Tasks Down': 'EcsTasksDown',
    # Business
    'Model Accuracy Degraded': 'ModelAccuracyDegraded',
    'Model Error High': 'ModelErrorHigh',
    'Model Correlation Low': 'ModelCorrelationLow',
    'SLA Breach': 'SLABreach',
    'Error Budget Low': 'ErrorBudgetLow',
}


def kebab(name):
    return '-'.join(t.lower() for t in re.findall(r'[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z0-9]+|[A-Z]+[0-9]*', name))


def github_slug(heading):
    s = heading.strip().lower()
    s = re.sub(r'[^\w\- ]', '', s)
    return s.replace(' ', '-')


def load_rules():
    alerts, records = [], []
    for path in sorted(glob.glob(os.path.join(ROOT, 'prometheus', 'rules', '*.yml'))):
        for group in yaml.safe_load(open(path))['groups']:
            for rule in group['rules']:
                rule['_file'] = os.path.relpath(path, ROOT)
                (alerts if 'alert' in rule else records).append(rule)
    return alerts, records


def load_tests():
    fired, quiet, expr_tested, exprs = set(), set(), set(), []
    for path in sorted(glob.glob(os.path.join(ROOT, 'prometheus', 'tests', '*.yml'))):
        for test in yaml.safe_load(open(path)).get('tests', []):
            for art in test.get('alert_rule_test', []) or []:
                (fired if art.get('exp_alerts') else quiet).add(art['alertname'])
            for pet in test.get('promql_expr_test', []) or []:
                exprs.append(pet['expr'])
    for e in exprs:
        expr_tested.update(re.findall(r'[a-zA-Z_:][a-zA-Z0-9_:]*', e))
    return fired, quiet, expr_tested


def main():
    results = []

    def check(name, ok, why=''):
        results.append(ok)
        print(('ok   ' if ok else 'FAIL ') + name + ('' if ok else ': ' + why))

    alerts, records = load_rules()
    names = [a['alert'] for a in alerts]
    dupes = sorted({n for n in names if names.count(n) > 1})
    check('alert names are unique', not dupes, ', '.join(dupes))

    runbook = open(os.path.join(ROOT, 'docs', 'runbooks.md')).read()
    anchors = {github_slug(m.group(1)) for m in re.finditer(r'^#{1,6}\s+(.*)$', runbook, re.M)}
    anchors |= set(re.findall(r'<a id="([^"]+)"', runbook))

    problems = []
    for a in alerts:
        n, labels, ann = a['alert'], a.get('labels', {}), a.get('annotations', {})
        sev = labels.get('severity')
        if 'for' not in a:
            problems.append(f'{n}: no for')
        if sev not in TIER:
            problems.append(f'{n}: severity {sev!r}')
        elif str(labels.get('tier')) != TIER[sev]:
            problems.append(f'{n}: tier {labels.get("tier")!r} does not match severity {sev}')
        if not labels.get('service'):
            problems.append(f'{n}: no service label')
        for key in ('summary', 'description', 'runbook_url'):
            if not ann.get(key):
                problems.append(f'{n}: no {key} annotation')
        url = ann.get('runbook_url', '')
        if url != RUNBOOK_BASE + kebab(n):
            problems.append(f'{n}: runbook_url {url!r} != {RUNBOOK_BASE + kebab(n)!r}')
        if kebab(n) not in anchors:
            problems.append(f'{n}: docs/runbooks.md has no section #{kebab(n)}')
    missing_rb = [p for p in problems if 'runbooks.md has no' in p]
    other = [p for p in problems if p not in missing_rb]
    check(f'{len(alerts)} alerts have for/severity/service/tier/summary/description/runbook_url', not other, '; '.join(other))
    check(f'{len(alerts)} runbook_url anchors exist in docs/runbooks.md', not missing_rb, '; '.join(missing_rb))

    missing_spec = sorted(f'{k} -> {v}' for k, v in SPEC_ALERTS.items() if v not in names)
    check(f'all {len(SPEC_ALERTS)} alerts of the monitoring spec are implemented', not missing_spec, '; '.join(missing_spec))

    fired, quiet, expr_tested = load_tests()
    no_fire = sorted(set(names) - fired)
    no_quiet = sorted(set(names) - quiet)
    check(f'{len(alerts)} alerts have a promtool test where they fire', not no_fire, ', '.join(no_fire))
    check(f'{len(alerts)} alerts have a promtool test where they stay quiet', not no_quiet, ', '.join(no_quiet))

    used_by_tested_alert = set()
    for a in alerts:
        if a['alert'] in fired:
            used_by_tested_alert.update(re.findall(r'[a-zA-Z_]+:[a-zA-Z0-9_:]+', a['expr']))
    untested = sorted(r['record'] for r in records
                      if r['record'] not in expr_tested and r['record'] not in used_by_tested_alert)
    check(f'{len(records)} recording rules are tested (directly or through a tested alert)', not untested, ', '.join(untested))

    return sum(1 for r in results if not r)


if __name__ == '__main__':
    sys.exit(min(main(), 100))
