"""Assertions of the end-to-end suite (python stdlib). Each check prints one PASS/FAIL line."""
import glob
import json
import math
import os
import subprocess
import time

from book import book_from_events, parse_redis_levels
from clients import decode_record, http_json, metric_sum, scrape
from stack import SYMBOL, log

K_FEATURES, K_BOOK, K_ANCHOR = f'{{{SYMBOL}}}:features', f'{{{SYMBOL}}}:book', f'{{{SYMBOL}}}:anchor'
K_PRED, K_LATEST = f'{{{SYMBOL}}}:predictions', f'{{{SYMBOL}}}:predictions:latest'

# Grafana panel queries that legitimately return no series on a local stack in steady state.
# Keyed by the exact expression; every entry says why. Anything else must return data.
PANEL_EMPTY_OK = {
    'ALERTS{alertstate="firing"}':
        'Active alerts panel: empty is the steady-state expectation (asserted separately).',
    'sum(aws_billing_estimated_charges)': 'CloudWatch via YACE: no AWS account locally.',
    'aws_ecs_cpu_utilization_percent': 'CloudWatch via YACE: no ECS locally.',
    'aws_ecs_memory_utilization_percent': 'CloudWatch via YACE: no ECS locally.',
    'aws_ecs_running_tasks_count': 'CloudWatch via YACE: no ECS locally.',
    'aws_ecs_desired_tasks_count': 'CloudWatch via YACE: no ECS locally.',
    'sum_over_time(aws_kinesis_write_provisioned_throughput_exceeded[5m])': 'CloudWatch via YACE: kinesalite has no CloudWatch.',
    'max(aws_kinesis_iterator_age_milliseconds) / 1000': 'CloudWatch via YACE: kinesalite has no CloudWatch.',
    'sum(aws_kinesis_incoming_bytes) / 60': 'CloudWatch via YACE: kinesalite has no CloudWatch.',
}

# Panel queries allowed to answer with NaN samples only (a NaN is not data). Keyed by the exact
# expression; every entry says why. Any other NaN-only query fails the panel check.
PANEL_NAN_OK = {
    'job:aggregator_reanchor_duration_seconds:p95_10m':
        'p95 of re-anchor durations: the only re-anchor (the start-up sync) happened before the first '
        'scrape, so rate() of its buckets is 0 and histogram_quantile answers NaN.',
    'max by (feature) (inference_feature_drift_psi)':
        'feature drift PSI is NaN until the window holds 150 live vectors (5 min at one tick per 2 s, '
        'services/inference/src/drift.rs); the steady phase is shorter than that.',
    'topk(5, max by (feature) (inference_feature_drift_psi))':
        'the same PSI series as the drift panel: NaN until 150 live vectors (5 min of ticks).',
    'job:ingestor_rest_api_duration_seconds:p95_5m':
        'p95 of REST call durations: the only call (the start-up snapshot) happened before the first '
        'scrape, so rate() of its buckets is 0 and histogram_quantile answers NaN.',
}

# Issue 17: the champion-vs-challenger panels subtract the challenger's live scores, which are NaN
# while no challenger is loaded (the stack runs none; the `lifecycle` scenario loads one only briefly).
_CH = 'max(inference_model_live_{0}{{model="challenger"}})'
_CP = 'max(inference_model_live_{0}{{model="champion"}})'
_ACC_DIFF = f"{_CH.format('accuracy')} - {_CP.format('accuracy')}"
_ACC_SE = (f"sqrt({_CH.format('accuracy')} * (1 - {_CH.format('accuracy')}) / {_CH.format('moved_windows')} + "
           f"{_CP.format('accuracy')} * (1 - {_CP.format('accuracy')}) / {_CP.format('moved_windows')})")
PANEL_NAN_OK.update({
    expr: 'champion vs challenger: NaN while no challenger is scored (none in the steady stack)'
    for expr in (_ACC_DIFF, f'{_ACC_DIFF} - 1.96 * {_ACC_SE}', f'{_ACC_DIFF} + 1.96 * {_ACC_SE}',
                 f"{_CH.format('log_loss')} - {_CP.format('log_loss')}",
                 f"{_CH.format('brier')} - {_CP.format('brier')}")
})


class Report:
    def __init__(self, path):
        self.path = path
        self.results = []
        self.numbers = {}

    def check(self, name, ok, detail=''):
        line = f'{"PASS" if ok else "FAIL"} {name}' + (f' — {detail}' if detail else '')
        print(line, flush=True)
        self.results.append({'name': name, 'ok': bool(ok), 'detail': detail})
        self.save()
        return ok

    def number(self, key, value):
        self.numbers[key] = value
        self.save()

    def save(self):
        with open(self.path, 'w') as fh:
            json.dump({'results': self.results, 'numbers': self.numbers}, fh, indent=1, default=str)

    @property
    def failed(self):
        return [r for r in self.results if not r['ok']]


# --- predictions ----------------------------------------------------------------------------------

def predictions(redis):
    """Every prediction in the Redis stream: [(stream id ms, prediction dict)] oldest first."""
    out = []
    start = '-'
    while True:
        entries = redis.cmd('XRANGE', K_PRED, start, '+', 'COUNT', 1000) or []
        for eid, fields in entries:
            f = {fields[i].decode(): fields[i + 1] for i in range(0, len(fields), 2)}
            out.append((int(eid.split(b'-')[0]), json.loads(f['json'])))
        if len(entries) < 1000:
            return out
        start = b'(' + entries[-1][0]


def check_predictions(rep, preds, t_from, t_to, label, max_late_ms=500):
    """Predictions whose slot lies in [t_from, t_to] (unix s): one per 2 s slot, none missing, each
    from the ML model with a model version and feature age < 2 s, published within max_late_ms."""
    win = [(ms, p) for ms, p in preds if t_from * 1e6 <= p['tick_time_us'] <= t_to * 1e6]
    n_expected = int((t_to - t_from) // 2)
    ok_count = rep.check(f'{label}: one prediction per 2 s slot over {t_to - t_from:.0f} s',
                         len(win) >= max(1, n_expected - 1),
                         f'{len(win)} predictions, {n_expected} slots expected')
    if not win:
        return False
    slots = [p['tick_time_us'] for _, p in win]
    steps = sorted({b - a for a, b in zip(slots, slots[1:])})
    late = [ms - p['tick_time_us'] / 1e3 for ms, p in win]
    rep.check(f'{label}: consecutive slots exactly 2 s apart (no missed or doubled tick)',
              steps == [2_000_000] or (not steps and len(win) == 1), f'steps seen (µs): {steps[:5]}')
    rep.check(f'{label}: every prediction published within {max_late_ms} ms of its slot',
              max(late) <= max_late_ms and min(late) >= -50,
              f'publish delay ms: min {min(late):.1f}, max {max(late):.1f}')
    bad = [p for _, p in win if not (p.get('model_version') and p.get('served_by') == 'ml'
                                      and p.get('fallback_reason') is None
                                      and p.get('feature_age_ms') is not None and p['feature_age_ms'] < 2000)]
    ages = [p['feature_age_ms'] for _, p in win if p.get('feature_age_ms') is not None]
    rep.check(f'{label}: every prediction served by the ML model with a model version and feature age < 2 s',
              not bad, (f'{len(bad)} bad, first: {json.dumps(bad[0])[:300]}' if bad else
                        f'model {win[0][1]["model_version"]}, feature age ms max {max(ages):.0f}, '
                        f'p50 {sorted(ages)[len(ages) // 2]:.0f}'))
    return ok_count and not bad


# --- Kinesis / accounting --------------------------------------------------------------------------

_DECODED = {}


def kinesis_events(kinesis):
    """[(seq, record dict)] of the single shard, decoded (decoded records are cached by sequence
    number: kinesalite keeps them across restarts, so a record never changes)."""
    shards = kinesis.shards()
    out = []
    for shard in shards:
        for seq, data in kinesis.read_all(shard):
            rec = _DECODED.get(seq)
            if rec is None:
                rec = _DECODED[seq] = decode_record(data)
            out.append((seq, rec))
    return shards, out


def redis_book_at_checkpoint(redis, shard):
    """(book hash, checkpoint seq) read consistently: the flush writes both in one script, so equal
    checkpoints before and after the book read mean the book is the state at that checkpoint."""
    for _ in range(50):
        c1 = ckpt_seq(redis, shard)
        b = redis.hgetall_str(K_BOOK)
        if ckpt_seq(redis, shard) == c1:
            return b, c1
        time.sleep(0.05)
    raise RuntimeError('the checkpoint kept moving while reading the book')


def count_events(records, after_seq=-1):
    c = {}
    for seq, rec in records:
        if seq <= after_seq:
            continue
        for ev in rec['events']:
            c[ev['type']] = c.get(ev['type'], 0) + 1
    return c


def ckpt_seq(redis, shard):
    v = redis.hgetall_str(f'{{{SYMBOL}}}:ckpt:{shard}').get('seq')
    return int(v) if v else None


def drained(stack, shard):
    """The aggregator's checkpoint covers the last record in Kinesis and the ingestor buffer is empty."""
    ing = scrape(stack.url('ingestor', '/metrics'))
    if metric_sum(ing, 'ingestor_buffer_depth') != 0:
        return False
    recs = stack.kinesis.read_all(shard)
    return bool(recs) and ckpt_seq(stack.redis, shard) == recs[-1][0]


BOOK_LEVELS = 10  # levels per side the aggregator writes (flush.book_depth) and the check compares


def first_difference(got, want):
    """(index, got level, expected level) of the first level that differs, or None."""
    for i in range(max(len(got), len(want))):
        g, w = (got[i] if i < len(got) else None), (want[i] if i < len(want) else None)
        if g != w:
            return i, g, w
    return None


def check_book_against(rep, label, b, bids, asks, last_u):
    """Redis's book equals the reference on exactly BOOK_LEVELS levels of each side: both sides
    present on both books (no truncation to the shorter side, no empty side passing as equal)."""
    got_b, got_a = parse_redis_levels(b.get('bids', '')), parse_redis_levels(b.get('asks', ''))
    n = BOOK_LEVELS
    sizes = {'redis bids': len(got_b), 'redis asks': len(got_a), 'ref bids': len(bids), 'ref asks': len(asks)}
    full = all(v >= n for v in sizes.values())
    diff_b, diff_a = first_difference(got_b[:n], bids[:n]), first_difference(got_a[:n], asks[:n])
    ok = b.get('state') == 'synced' and full and diff_b is None and diff_a is None
    ok_u = str(last_u) == b.get('last_update_id')
    rep.check(f'{label}: Redis book top {n} levels of both sides equal the independently synced book', ok,
              f'redis best {b.get("best_bid")}/{b.get("best_ask")}, expected {bids[0][0] if bids else None}/'
              f'{asks[0][0] if asks else None}, state {b.get("state")}, levels {sizes}'
              + (f', first bid difference (index, redis, ref) {diff_b}' if diff_b else '')
              + (f', first ask difference (index, redis, ref) {diff_a}' if diff_a else ''))
    rep.check(f'{label}: Redis book last_update_id equals the reference', ok_u,
              f'redis {b.get("last_update_id")}, reference {last_u}')
    return ok and ok_u


def check_book_vs_kinesis(rep, label, stack, shard, records=None):
    """Redis's book against the book python rebuilds from every Kinesis event up to the checkpoint
    the book was written with (nothing lost, nothing applied twice on the way to Redis)."""
    b, ck = redis_book_at_checkpoint(stack.redis, shard)
    if records is None or not records or records[-1][0] < (ck or 0):
        _, records = kinesis_events(stack.kinesis)
    book = book_from_events([ev for seq, rec in records if seq <= (ck or -1) for ev in rec['events']])
    bids, asks = book.top(10)
    return check_book_against(rep, label, b, bids, asks, book.last_u)


# --- Prometheus -------------------------------------------------------------------------------------

def seed_metrics(stack):
    exe = stack.bin('metrics-schema')
    cmd = [exe] if os.path.exists(exe) else ['cargo', 'run', '-q', '-p', 'metrics-schema', '--']
    out = subprocess.run(cmd + ['list', '--format', 'json'], check=True, capture_output=True, text=True,
                         cwd=stack.root).stdout
    return json.loads(out)


def seed_000_names(doc):
    """(service, name, type) of every seed-000 metric of our three services."""
    out = []
    items = doc if isinstance(doc, list) else doc.get('metrics', [])
    for m in items:
        if m.get('origin') in ('seed-000', 'seed 000') and m.get('service') in ('ingestor', 'aggregator', 'inference'):
            out.append((m['service'], m['name'], m['type']))
    return out


def check_prometheus(rep, stack, prom):
    targets = prom.targets()
    down = [f'{t["labels"].get("job")}={t["health"]}' for t in targets if t['health'] != 'up']
    jobs = sorted({t['labels'].get('job') for t in targets})
    rep.check('Prometheus: every scrape target is UP', targets and not down,
              f'{len(targets)} targets {jobs}' + (f'; down: {down}' if down else ''))
    names = seed_000_names(seed_metrics(stack))
    missing = []
    for svc, name, mtype in names:
        series = name + '_count' if mtype == 'histogram' else name
        if not prom.query(f'{series}{{service="{svc}"}}'):
            missing.append(f'{svc}:{series}')
    rep.check('Prometheus: every seed-000 metric of ingestor/aggregator/inference is present',
              names and not missing, f'{len(names)} metrics checked' + (f'; missing {missing}' if missing else ''))
    empty, nan_only, checked = [], [], 0
    for dash in sorted(glob.glob(os.path.join(stack.root, 'grafana', 'dashboards', '*.json'))):
        for title, expr in panel_queries(dash):
            q = expr.replace('$interval', '1m').replace('$__rate_interval', '1m').replace('$service', '.+')
            checked += 1
            res = prom.query(q)
            if not res:
                if expr not in PANEL_EMPTY_OK:
                    empty.append(f'{os.path.basename(dash)}/{title}: {expr}')
            elif all(math.isnan(float(r['value'][1])) for r in res):
                nan_only.append((f'{os.path.basename(dash)}/{title}', expr))
    bad_nan = [f'{where}: {expr}' for where, expr in nan_only if expr not in PANEL_NAN_OK]
    rep.check('Grafana: every panel query returns data, not only NaN (outside the documented allow-lists)',
              checked > 0 and not empty and not bad_nan,
              f'{checked} queries, {len(PANEL_EMPTY_OK)} allowed empty, {len(PANEL_NAN_OK)} allowed NaN-only'
              + (f'; empty: {empty}' if empty else '') + (f'; NaN only: {bad_nan}' if bad_nan else ''))
    if nan_only:
        log(f'note: panel queries whose only samples are NaN: {[w for w, _ in nan_only]}')
    rep.number('panel_queries_nan_only', [f'{w}: {e}' for w, e in nan_only])


def panel_queries(path):
    doc = json.load(open(path))
    out = []

    def walk(panels):
        for p in panels:
            walk(p.get('panels', []))
            for t in p.get('targets', []):
                if t.get('expr'):
                    out.append((p.get('title', '?'), t['expr']))
    walk(doc.get('panels', []))
    return out


def firing_alerts(prom):
    return sorted({a['labels']['alertname'] for a in prom.alerts() if a['state'] == 'firing'})


def pending_alerts(prom):
    return sorted({a['labels']['alertname'] for a in prom.alerts() if a['state'] == 'pending'})


def sim_stats(stack):
    return http_json(stack.sim_url + '/admin/stats')


def wait_fresh_ml(stack, since, timeout):
    """Wait for a prediction with slot >= since served by the ML model with fresh features."""
    from stack import wait_until

    def ok():
        raw = stack.redis.cmd('GET', K_LATEST)
        if not raw:
            return None
        p = json.loads(raw)
        return (p['tick_time_us'] >= since * 1e6 and p.get('served_by') == 'ml'
                and p.get('fallback_reason') is None and (p.get('feature_age_ms') or 1e9) < 2000) and p
    return wait_until('fresh ML prediction', ok, timeout, interval=0.5)


def now():
    return time.time()
