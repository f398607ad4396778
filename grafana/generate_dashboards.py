#!/usr/bin/env python3
"""Generate grafana/dashboards/*.json (Executive and Technical) from the layout in this file.

The JSON files are committed (Grafana provisions them as they are); this script is the source.
    python3 grafana/generate_dashboards.py          # rewrite the JSON files
    python3 grafana/generate_dashboards.py --check  # exit 1 if the committed JSON is out of date
Layout follows the monitoring spec (seed 000, "Dashboard Configuration"): Executive = grid 3x2,
refresh 30s; Technical = rows inference / aggregator / ingestor / infrastructure with four
panels each (grid 4 wide), refresh 10s, plus an SLO row. Template variables: `service`
(label_values(up, job)) and `interval` (range of the rate() windows).
Stdlib only.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'dashboards')
DS = {'type': 'prometheus', 'uid': 'prometheus'}


def thresholds(*steps):
    """steps: (color, value) with the first value None (base)."""
    return {'mode': 'absolute', 'steps': [{'color': c, 'value': v} for c, v in steps]}


def target(expr, legend='', ref='A', instant=False, fmt=None):
    t = {'datasource': DS, 'refId': ref, 'expr': expr, 'legendFormat': legend}
    if instant:
        t['instant'] = True
        t['range'] = False
    if fmt:
        t['format'] = fmt
    return t


def targets(*pairs):
    return [target(e, l, chr(ord('A') + i)) for i, (e, l) in enumerate(pairs)]


class Layout:
    def __init__(self):
        self.next_id = 1
        self.y = 0
        self.panels = []

    def _id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def row(self, title):
        self.panels.append({'id': self._id(), 'type': 'row', 'title': title, 'collapsed': False,
                            'gridPos': {'h': 1, 'w': 24, 'x': 0, 'y': self.y}, 'panels': []})
        self.y += 1

    def grid(self, panels, width, height=8):
        x = 0
        for p in panels:
            if x + width > 24:
                x = 0
                self.y += height
            p['id'] = self._id()
            p['gridPos'] = {'h': height, 'w': width, 'x': x, 'y': self.y}
            p.setdefault('datasource', DS)
            self.panels.append(p)
            x += width
        self.y += height


def timeseries(title, tgts, unit, description='', th=None, right_axis=None, right_unit=None, time_from=None,
               minimum=None):
    """th: threshold steps drawn as lines (the SLO/alert thresholds)."""
    defaults = {'unit': unit, 'custom': {'drawStyle': 'line', 'lineWidth': 1, 'fillOpacity': 10,
                                        'showPoints': 'never', 'spanNulls': False}}
    if minimum is not None:
        defaults['min'] = minimum
    if th:
        defaults['thresholds'] = thresholds(*th)
        defaults['custom']['thresholdsStyle'] = {'mode': 'line'}
    overrides = []
    if right_axis:
        overrides.append({'matcher': {'id': 'byFrameRefID', 'options': right_axis},
                          'properties': [{'id': 'custom.axisPlacement', 'value': 'right'},
                                         {'id': 'unit', 'value': right_unit or unit}]})
    p = {'type': 'timeseries', 'title': title, 'description': description, 'targets': tgts,
         'fieldConfig': {'defaults': defaults, 'overrides': overrides},
         'options': {'legend': {'displayMode': 'list', 'placement': 'bottom', 'showLegend': True},
                     'tooltip': {'mode': 'multi', 'sort': 'none'}}}
    if time_from:
        p['timeFrom'] = time_from
    return p


def stat(title, tgts, unit, th, description='', decimals=None):
    defaults = {'unit': unit, 'thresholds': thresholds(*th), 'color': {'mode': 'thresholds'}}
    if decimals is not None:
        defaults['decimals'] = decimals
    return {'type': 'stat', 'title': title, 'description': description, 'targets': tgts,
            'fieldConfig': {'defaults': defaults, 'overrides': []},
            'options': {'reduceOptions': {'calcs': ['lastNotNull'], 'fields': '', 'values': False},
                        'colorMode': 'background', 'graphMode': 'area', 'justifyMode': 'auto',
                        'orientation': 'auto', 'textMode': 'auto'}}


def templating():
    return {'list': [
        {'name': 'service', 'label': 'Service', 'type': 'query', 'datasource': DS,
         'definition': 'label_values(up, job)',
         'query': {'query': 'label_values(up, job)', 'refId': 'PrometheusVariableQueryEditor-VariableQuery'},
         'refresh': 2, 'includeAll': True, 'multi': True, 'allValue': '.*', 'sort': 1,
         'current': {'selected': True, 'text': ['All'], 'value': ['$__all']}, 'hide': 0},
        {'name': 'interval', 'label': 'Interval', 'type': 'interval',
         'query': '1m,5m,15m,1h,6h,24h', 'auto': False, 'hide': 0,
         'current': {'selected': True, 'text': '5m', 'value': '5m'},
         'options': [{'selected': v == '5m', 'text': v, 'value': v} for v in ['1m', '5m', '15m', '1h', '6h', '24h']]},
    ]}


def dashboard(uid, title, tags, refresh, time_from, panels, description):
    return {
        'uid': uid, 'title': title, 'description': description, 'tags': tags, 'timezone': 'utc',
        'editable': False, 'graphTooltip': 1, 'schemaVersion': 38, 'version': 1, 'refresh': refresh,
        'time': {'from': time_from, 'to': 'now'}, 'fiscalYearStartMonth': 0, 'liveNow': False,
        'annotations': {'list': [{'builtIn': 1, 'datasource': {'type': 'grafana', 'uid': '-- Grafana --'},
                                  'enable': True, 'hide': True, 'iconColor': 'rgba(0, 211, 255, 1)',
                                  'name': 'Annotations & Alerts', 'type': 'dashboard'}]},
        'links': [{'title': 'Runbooks', 'type': 'link', 'targetBlank': True,
                   'url': 'https://github.com/ORG/btc-pipeline/blob/main/docs/runbooks.md'}],
        'templating': templating(), 'panels': panels,
    }


def executive():
    lay = Layout()
    lay.grid([
        stat('System health', [target('pipeline:system_health_score:ratio', 'health')], 'percentunit',
             [('red', None), ('yellow', 0.8), ('green', 0.95)],
             'overall_system_health_score: 40% targets up, 30% prediction cadence, 20% p99 latency '
             'within 100 ms, 10% features fresher than 5 s. Red < 0.8, yellow < 0.95.', decimals=1),
        timeseries('Prediction accuracy (24h)', targets(
            ('job:model_directional_accuracy:median_1h', 'directional accuracy (1h median)'),
            ('job:model_mean_absolute_error:median_1h', 'mean absolute error USD (1h median)')),
            'percentunit', 'model_directional_accuracy (target > 55%) and model_mean_absolute_error (right axis).',
            th=[('red', None), ('green', 0.55)], right_axis='B', right_unit='currencyUSD', time_from='24h'),
        stat('Service availability', [target('min(service_uptime_ratio)', 'availability')], 'percentunit',
             [('red', None), ('green', 0.999)], 'service_uptime_ratio; SLA 99.9%.', decimals=2),
        {'type': 'table', 'title': 'Active alerts',
         'description': 'ALERTS{alertstate="firing"}: alertname, severity, service.',
         'targets': [target('ALERTS{alertstate="firing"}', '', 'A', instant=True, fmt='table')],
         'fieldConfig': {'defaults': {}, 'overrides': []},
         'options': {'showHeader': True, 'footer': {'show': False}},
         'transformations': [{'id': 'organize', 'options': {
             'excludeByName': {'Time': True, 'Value': True, '__name__': True, 'alertstate': True, 'job': True,
                               'tier': True, 'instance': True},
             'indexByName': {'alertname': 0, 'severity': 1, 'service': 2}, 'renameByName': {}}}]},
        timeseries('Inference latency (1h)', targets(
            ('histogram_quantile(0.50, rate(inference_total_latency_seconds_bucket[1m]))', 'p50'),
            ('histogram_quantile(0.95, rate(inference_total_latency_seconds_bucket[1m]))', 'p95'),
            ('histogram_quantile(0.99, rate(inference_total_latency_seconds_bucket[1m]))', 'p99')),
            's', 'End-to-end prediction latency. Red line: 100 ms p99 budget (SLO).',
            th=[('green', None), ('red', 0.1)], time_from='1h', minimum=0),
        stat('Cost (AWS estimated charges, month to date)', [target('sum(aws_billing_estimated_charges)', 'USD')],
             'currencyUSD', [('green', None)], 'aws_billing_estimated_charges via YACE (AWS/Billing, us-east-1).',
             decimals=0),
    ], width=8)
    return dashboard('btc-executive', 'BTC Pipeline — Executive', ['bitcoin', 'trading', 'overview'], '30s',
                     'now-24h', lay.panels, 'KPIs of the 10-second-ahead BTC prediction pipeline (spec: executive dashboard).')


def technical():
    lay = Layout()
    lay.row('Inference service')
    lay.grid([
        timeseries('Prediction frequency', targets(
            ('sum(rate(inference_predictions_total[$interval]))', 'predictions/s'),
            ('sum by (reason) (rate(inference_fallback_predictions_total[$interval]))', 'fallback {{reason}}'),
            ('sum by (variant) (inference_model_variant_active)', 'variant {{variant}} active')),
            'reqps', 'Expected 0.5/s (one prediction every 2 s). Red lines: 0.4/s (critical) and 0.6/s (warning).',
            th=[('red', None), ('green', 0.4), ('red', 0.6)], minimum=0),
        timeseries('Feature freshness', targets(
            ('job:inference_feature_age_seconds:p95_1m', 'feature age p95'),
            ('histogram_quantile(0.50, sum by (le) (rate(inference_feature_age_seconds_bucket[$interval])))', 'feature age p50'),
            ('job:inference_feature_completeness:p95_5m', 'completeness p95')),
            's', 'Age of the features at prediction time (red line 5 s) and completeness (right axis, alert < 0.9).',
            th=[('green', None), ('red', 5)], right_axis='C', right_unit='percentunit', minimum=0),
        timeseries('Model performance', targets(
            ('job_stage:inference_stage_duration_seconds:p99_1m', 'p99 {{stage}}'),
            ('job:inference_model_prediction_duration_seconds:p95_1m', 'model p95'),
            ('job:inference_total_latency_seconds:p99_1m', 'total p99')),
            's', 'Hot-path latency by stage. Red line: 100 ms p99 budget; model p95 alert at 30 ms.',
            th=[('green', None), ('red', 0.1)], minimum=0),
        timeseries('Redis operations (inference reads)', targets(
            ('job:inference_redis_read_duration_seconds:p95_1m', 'feature read p95'),
            ('histogram_quantile(0.99, sum by (le) (rate(inference_redis_read_duration_seconds_bucket[$interval])))', 'feature read p99')),
            's', 'Redis feature read time. Red line: 5 ms p95 alert threshold.',
            th=[('green', None), ('red', 0.005)], minimum=0),
    ], width=6)
    lay.row('Aggregator service')
    lay.grid([
        timeseries('Kinesis processing', targets(
            ('sum by (stream, status) (rate(aggregator_kinesis_records_processed_total[$interval]))', '{{stream}} {{status}}'),
            ('max(aggregator_kinesis_lag_seconds)', 'lag (s)')),
            'reqps', 'Records processed per second and consumer lag (right axis, alert > 10 s).',
            right_axis='B', right_unit='s', minimum=0),
        timeseries('Feature computation', targets(
            ('job:aggregator_feature_computation_duration_seconds:p95_2m', 'computation p95'),
            ('job:aggregator_feature_updates:rate5m', 'feature updates/s'),
            ('avg(aggregator_feature_completeness)', 'completeness')),
            's', 'Feature computation p95 (red line 20 ms), updates/s (right axis, alert when 0).',
            th=[('green', None), ('red', 0.02)], right_axis='B', right_unit='reqps', minimum=0),
        timeseries('Redis state management', targets(
            ('sum by (operation, status) (rate(aggregator_redis_operations_total[$interval]))', '{{operation}} {{status}}'),
            ('job:aggregator_redis_operation_duration_seconds:p95_2m', 'operation p95'),
            ('histogram_quantile(0.95, sum by (le) (rate(aggregator_redis_pipeline_commands_bucket[$interval])))', 'commands per flush p95')),
            'ops', 'Redis operations by status (errors alert > 10/s) and p95 latency (right axis, alert > 5 ms).',
            right_axis='B', right_unit='s', minimum=0),
        timeseries('Re-anchor operations', targets(
            ('sum by (status) (increase(aggregator_reanchor_operations_total[$interval]))', '{{status}}'),
            ('job:aggregator_reanchor_duration_seconds:p95_10m', 'duration p95 (s)'),
            ('max(aggregator_book_state)', 'book state (0 synced, 1 buffering, 2 failed)'),
            ('max(aggregator_reanchor_buffer_depth)', 'buffer depth')),
            'short', 'Re-anchors by status, p95 duration (right axis, red line 60 s), book state and buffer depth.',
            th=[('green', None), ('red', 60)], right_axis='B', right_unit='s', minimum=0),
    ], width=6)
    lay.row('Ingestor service')
    lay.grid([
        timeseries('SBE stream health', targets(
            ('sum by (message_type) (rate(ingestor_sbe_messages_total[$interval]))', '{{message_type}}'),
            ('max(ingestor_sbe_throughput_messages_per_second)', 'throughput msg/s'),
            ('min(ingestor_sbe_connection_status)', 'connected (1/0)')),
            'short', 'Messages per second by type; throughput (red line 100 msg/s); connection status (right axis).',
            th=[('red', None), ('green', 100)], right_axis='C', right_unit='short', minimum=0),
        timeseries('REST API performance', targets(
            ('job:ingestor_rest_api_duration_seconds:p95_5m', 'duration p95'),
            ('sum by (endpoint, status) (rate(ingestor_rest_api_calls_total[$interval]))', '{{endpoint}} {{status}}'),
            ('min(ingestor_rest_rate_limit_remaining)', 'rate limit remaining'),
            ('max(ingestor_rest_circuit_breaker_state)', 'circuit breaker (0 closed, 1 half-open, 2 open)')),
            's', 'REST call p95 (red line 2 s); calls by endpoint/status, rate-limit budget and breaker state (right axis).',
            th=[('green', None), ('red', 2)], right_axis='B', right_unit='short', minimum=0),
        timeseries('Data quality', targets(
            ('sum by (error_type, stage) (rate(ingestor_errors_total[$interval]))', 'ingestor {{stage}} {{error_type}}'),
            ('sum by (error_type, stage) (rate(aggregator_errors_total[$interval]))', 'aggregator {{stage}} {{error_type}}'),
            ('sum by (error_type, stage) (rate(inference_errors_total[$interval]))', 'inference {{stage}} {{error_type}}'),
            ('sum by (status) (rate(aggregator_kinesis_records_processed_total{status!="applied"}[$interval]))', 'records {{status}}'),
            ('sum by (reason, intentional) (rate(ingestor_events_dropped_total[$interval]))', 'dropped {{reason}} (intentional={{intentional}})'),
            ('job:ingestor_kinesis_failed_records:ratio_rate5m', 'Kinesis failed-record ratio')),
            'short', 'Errors by type and stage, records not applied (poison, duplicate, unknown schema), dropped events '
            '(unintended drops alert), Kinesis failed-record ratio.',
            minimum=0),
        timeseries('Gap detection', targets(
            ('sum(increase(ingestor_sbe_sequence_gaps_total[$interval]))', 'sequence gaps'),
            ('sum(increase(ingestor_sbe_reconnections_total[$interval]))', 'reconnections'),
            ('max(ingestor_last_message_age_seconds)', 'last message age (s)'),
            ('max by (job, channel) (pipeline_channel_depth / pipeline_channel_capacity)', 'channel fill {{job}} {{channel}}')),
            'short', 'Gaps and reconnections per interval (each forces a re-anchor); age of the last message (right axis); '
            'bounded-channel fill ratio (back-pressure).',
            right_axis='C', right_unit='s', minimum=0),
    ], width=6)
    lay.row('Infrastructure')
    lay.grid([
        timeseries('Redis cluster health', targets(
            ('instance:redis_memory_used:ratio', 'memory {{node}}'),
            ('instance:redis_keyspace_hit_ratio:rate5m', 'hit rate {{node}}'),
            ('min by (node) (redis_up)', 'up {{node}}'),
            ('max by (node) (redis_connected_clients)', 'clients {{node}}')),
            'percentunit', 'Memory vs maxmemory (lines 85% / 95%), hit rate (alert < 95%), up; clients on the right axis.',
            th=[('green', None), ('orange', 0.85), ('red', 0.95)], right_axis='D', right_unit='short', minimum=0),
        timeseries('ECS resource usage', targets(
            ('aws_ecs_cpu_utilization_percent', 'CPU {{dimension_ServiceName}}'),
            ('aws_ecs_memory_utilization_percent', 'memory {{dimension_ServiceName}}'),
            ('rate(process_cpu_seconds_total{job=~"$service"}[$interval]) * 100', 'process CPU {{job}}'),
            ('process_resident_memory_bytes{job=~"$service"}', 'RSS {{job}}')),
            'percent', 'ECS CPU/memory (lines: 70/80% CPU, 80/85% memory tiers), process CPU; RSS on the right axis.',
            th=[('green', None), ('yellow', 70), ('orange', 80), ('red', 85)], right_axis='D', right_unit='bytes', minimum=0),
        timeseries('AWS service health', targets(
            ('aws_ecs_running_tasks_count', 'running {{dimension_ServiceName}}'),
            ('aws_ecs_desired_tasks_count', 'desired {{dimension_ServiceName}}'),
            ('sum_over_time(aws_kinesis_write_provisioned_throughput_exceeded[5m])', 'Kinesis throttled writes'),
            ('max(aws_kinesis_iterator_age_milliseconds) / 1000', 'Kinesis iterator age (s)'),
            ('up{job=~"$service"}', 'up {{job}}')),
            'short', 'Running vs desired tasks, Kinesis throttling and iterator age (alert > 30 s), scrape targets up.',
            minimum=0),
        timeseries('Network performance', targets(
            ('histogram_quantile(0.95, sum by (le) (rate(ingestor_kinesis_put_duration_seconds_bucket[$interval])))', 'Kinesis put p95'),
            ('sum(rate(ingestor_kinesis_bytes_sent_total[$interval]))', 'bytes sent/s'),
            ('sum(aws_kinesis_incoming_bytes) / 60', 'Kinesis incoming bytes/s (CloudWatch)')),
            's', 'Ingestor to Kinesis round trip (Tier 3 line 50 ms); throughput on the right axis.',
            th=[('green', None), ('red', 0.05)], right_axis='B', right_unit='Bps', minimum=0),
    ], width=6)
    lay.row('SLOs and error budget')
    lay.grid([
        timeseries('Prediction availability SLI', targets(
            ('1 - slo:inference_availability_errors:ratio_rate1h', '1h'),
            ('1 - slo:inference_availability_errors:ratio_rate1d', '1d')),
            'percentunit', 'Share of 2-second ticks that published a prediction. Red line: 99.9% SLO.',
            th=[('red', None), ('green', 0.999)]),
        timeseries('Inference latency SLI', targets(
            ('1 - slo:inference_latency_errors:ratio_rate1h', '1h'),
            ('1 - slo:inference_latency_errors:ratio_rate1d', '1d')),
            'percentunit', 'Share of predictions faster than 100 ms. Red line: 99% SLO.',
            th=[('red', None), ('green', 0.99)]),
        timeseries('Burn rate (1h)', targets(
            ('slo:inference_availability_errors:ratio_rate1h / 0.001', 'availability'),
            ('slo:inference_latency_errors:ratio_rate1h / 0.01', 'latency')),
            'short', 'Error-budget burn rate. Lines: 6x and 14.4x (page thresholds with their short windows).',
            th=[('green', None), ('orange', 6), ('red', 14.4)], minimum=0),
        stat('Error budget remaining', targets(
            ('slo:inference_availability_error_budget:remaining_3d', 'availability (3d)'),
            ('slo:inference_latency_error_budget:remaining_3d', 'latency (3d)'),
            ('min(service_error_budget_remaining)', 'service (30d)')),
            'percentunit', [('red', None), ('yellow', 0.1), ('green', 0.5)],
            'Remaining error budget. Warning below 10% (ErrorBudgetLow).', decimals=1),
    ], width=6)
    # Issue 17: live feature drift (PSI vs the ML model's training deciles), confidence, prediction API.
    lay.row('Feature drift')
    lay.grid([
        timeseries('Feature drift (PSI)', targets(
            ('max by (feature) (inference_feature_drift_psi)', '{{feature}}')),
            'short', 'Population stability index of each feature over the last 30 min of live vectors vs the ML '
            "model's training distribution. Lines: 0.25 (FeatureDriftHigh) and 0.5 (FeatureDriftCritical). "
            'No line: model without a reference or fewer than 150 vectors.',
            th=[('green', None), ('orange', 0.25), ('red', 0.5)], minimum=0),
        timeseries('Most drifted features', targets(
            ('topk(5, max by (feature) (inference_feature_drift_psi))', '{{feature}}'),
            ('max(inference_feature_drift_window_vectors)', 'window vectors')),
            'short', 'The five features furthest from training; window size on the right axis (900 = full 30 min).',
            th=[('green', None), ('orange', 0.25), ('red', 0.5)], right_axis='B', right_unit='short', minimum=0),
        timeseries('Prediction confidence', targets(
            ('sum(rate(inference_confidence_score_sum[30m])) / sum(rate(inference_confidence_score_count[30m]))',
             'mean confidence (30m)')),
            'percentunit', 'Mean of max(p_up, 1 - p_up); 0.5 = no opinion. Red line: 0.51 (PredictionConfidenceLow).',
            th=[('red', None), ('green', 0.51)]),
        timeseries('Prediction API', targets(
            ('sum by (route) (rate(inference_http_requests_total[$interval]))', '{{route}} req/s'),
            ('sum by (route, class) (rate(inference_http_request_errors_total[$interval]))', '{{route}} {{class}}/s'),
            ('histogram_quantile(0.95, sum by (route, le) (rate(inference_http_request_duration_seconds_bucket[$interval])))',
             '{{route}} p95')),
            'reqps', 'Requests and error responses per route (unknown paths: other); p95 time to response headers '
            'on the right axis.', right_axis='C', right_unit='s', minimum=0),
    ], width=6)
    # Issue 17 item 2: live quality per model role (champion = the serving model; challenger = in shadow).
    lay.row('Live model quality')
    acc = 'max by (model) (inference_model_live_accuracy)'
    n = 'max by (model) (inference_model_live_moved_windows)'
    lay.grid([
        timeseries('Live accuracy (moved windows, 95% interval)', targets(
            (acc, '{{model}}'),
            (f'{acc} - 1.96 * sqrt({acc} * (1 - {acc}) / {n})', '{{model}} low'),
            (f'{acc} + 1.96 * sqrt({acc} * (1 - {acc}) / {n})', '{{model}} high')),
            'percentunit', 'Directional accuracy on moved 10 s windows over the rolling evaluation window, with a '
            'normal-approximation 95% interval from the moved-window count (windows overlap, so it is optimistic). '
            'Line: 0.5 (coin).', th=[('red', None), ('green', 0.5)]),
        timeseries('Live log-loss', targets(
            ('max by (model) (inference_model_live_log_loss)', '{{model}}')),
            'short', 'Log-loss of p_up on moved windows. Line: 0.693 (a coin flip); lower is better.',
            th=[('green', None), ('red', 0.693)], minimum=0),
        timeseries('Live Brier and calibration error', targets(
            ('max by (model) (inference_model_live_brier)', 'Brier {{model}}'),
            ('max by (model) (inference_model_live_calibration_error)', 'ECE {{model}}')),
            'short', 'Brier score (coin flip 0.25) and expected calibration error (10 bins) of p_up on moved windows.',
            th=[('green', None), ('red', 0.25)], minimum=0),
        timeseries('Scored predictions', targets(
            ('sum by (model) (rate(inference_model_scored_predictions_total[$interval]))', '{{model}} scored/s'),
            (n, '{{model}} moved windows in window')),
            'short', 'Predictions scored 10 s after they were made (0.5/s when every tick has a usable mid), and the '
            'moved windows the scores rest on (right axis; scores need 30).', right_axis='B', right_unit='short',
            minimum=0),
    ], width=6)
    # Issue 17 items 1-3: the challenger in shadow against the champion, and the switches.
    lay.row('Champion vs challenger')
    role = lambda m, r: f'max({m}{{model="{r}"}})'
    a_c, a_h = role('inference_model_live_accuracy', 'challenger'), role('inference_model_live_accuracy', 'champion')
    n_c, n_h = (role('inference_model_live_moved_windows', 'challenger'),
                role('inference_model_live_moved_windows', 'champion'))
    se = f'sqrt({a_c} * (1 - {a_c}) / {n_c} + {a_h} * (1 - {a_h}) / {n_h})'
    ll = ' - '.join(role('inference_model_live_log_loss', r) for r in ('challenger', 'champion'))
    lay.grid([
        timeseries('Accuracy: challenger − champion (95% interval)', targets(
            (f'{a_c} - {a_h}', 'difference'),
            (f'{a_c} - {a_h} - 1.96 * {se}', 'low'),
            (f'{a_c} - {a_h} + 1.96 * {se}', 'high')),
            'percentunit', 'Live directional accuracy of the challenger minus the champion on moved windows, with a '
            'normal-approximation 95% interval from both moved-window counts. Above 0 (line): the challenger calls '
            'direction better. Empty while no challenger is scored.', th=[('red', None), ('green', 0)]),
        timeseries('Log-loss and Brier: challenger − champion', targets(
            (ll, 'log-loss difference'),
            (' - '.join(role('inference_model_live_brier', r) for r in ('challenger', 'champion')),
             'Brier difference')),
            'short', 'Challenger minus champion; below 0 the challenger is better. The automatic policy (when on) '
            'promotes when the log-loss difference is at most -lifecycle.auto_margin over enough windows.',
            th=[('green', None), ('red', 0)]),
        timeseries('Challenger runs in shadow', targets(
            ('sum by (outcome) (rate(inference_challenger_runs_total[$interval]))', '{{outcome}}/s')),
            'short', 'Challenger runs after each published champion prediction: published to '
            '{S}:predictions:challenger, model_error, publish_error (runbook: challenger failing).', minimum=0),
        timeseries('Champion switches', targets(
            ('sum by (action) (increase(inference_model_promotions_total[$interval]))', '{{action}}')),
            'short', 'Promotions (admin, automatic) and rollbacks; each one is in the audit log '
            '(lifecycle.audit_log) with who, versions and the live scores at that moment.', minimum=0),
    ], width=6)
    return dashboard('btc-technical', 'BTC Pipeline — Technical', ['bitcoin', 'trading', 'technical'], '10s',
                     'now-1h', lay.panels, 'Per-service detail (spec: technical dashboard): inference, aggregator, '
                     'ingestor, infrastructure, SLOs.')


def render():
    return {'executive.json': executive(), 'technical.json': technical()}


def main(argv):
    check = '--check' in argv
    stale = []
    for name, dash in render().items():
        text = json.dumps(dash, indent=2, ensure_ascii=False) + '\n'
        path = os.path.join(OUT, name)
        if check:
            if not os.path.exists(path) or open(path, encoding='utf-8').read() != text:
                stale.append(path)
        else:
            os.makedirs(OUT, exist_ok=True)
            with open(path, 'w', encoding='utf-8') as fh:
                fh.write(text)
    if stale:
        print('out of date (run python3 grafana/generate_dashboards.py): ' + ', '.join(stale))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
