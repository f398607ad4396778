#!/usr/bin/env python3
"""End-to-end suite (issue 11): the whole pipeline on 127.0.0.1 with real servers, a replay of the
real Binance spot recording, steady-state assertions, then chaos scenarios. See docs/e2e.md.

Usage (normally through tests/e2e/run.sh): e2e.py --run-dir DIR [--short] [--profile debug|release]
    [--speed N] [--scenarios a,b,...] [--data DIR]
"""
import argparse
import json
import os
import signal
import sys
import time
import traceback

import check
from book import recording_facts
from check import K_ANCHOR, K_FEATURES, K_LATEST, Report, now
from clients import Prometheus, http_get, http_send, metric_sum, scrape
from lifecycle import sc_lifecycle
from stack import Stack, free_ports, log, wait_until

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SCENARIOS = ['gap', 'storm', 'rest429', 'kill_aggregator', 'redis_restart', 'kinesis_restart', 'kill_inference',
             'inference_overlap', 'lifecycle', 'reshard']
SHORT_SCENARIOS = ['gap', 'kill_aggregator', 'kill_inference']
# Alerts allowed to fire during the steady replay: alertname -> (only within this many seconds of
# the inference process starting, why). Empty: every alert firing in steady state is a failure.
# (PredictionFrequencyLow used to fire ~70 s after every inference start; the rule now requires 2m
# of history, commit 694d340, so it is no longer expected.) See docs/e2e.md.
STEADY_FIRING_OK = {
    # A latency alert on debug binaries: the replay at speed 3 keeps both cores busy (sim, ingestor,
    # aggregator, kinesalite, Prometheus), the inference tick waits for CPU and its Redis read p95 sat
    # at 7.5-16 ms (p50 3.5-7 ms; 0.8 ms once the replay ended) in run 20261202T041805Z, so it fired
    # after its for: 2m. Read latency is judged in `make bench` on release builds, not here.
    'RedisReadLatencyHigh': (900, 'inference Redis read p95 7.5-16 ms on debug binaries with both cores busy '
                                  'replaying (release figures: make bench); a performance figure of this '
                                  'build, not a fault'),
}
# Alerts allowed to be *pending* in the steady phase (issue 19: 29 of the 64 rules have `for:` of 5 min
# or more and cannot fire before the phase ends, so "none firing" alone proves little; pending is
# asserted too): alertname -> (when, why). when 'after_end': only once the replay has ended (sampled
# after the drain); 'always': also while the replay runs. Anything else pending is a failure.
STEADY_PENDING_OK = {
    'StaleFeatures': ('after_end', 'the replay has ended, so the features stop updating and their age grows'),
    'SbeThroughputLow': ('always', 'the gauge is a short-window rate and the real recording has quiet stretches: '
                                   'at speed 3 it read 105 msg/s and the rule went pending (run 20261202T040546Z); '
                                   'after the replay ends throughput is 0; firing needs 5 continuous minutes'),
    'HighFallbackRate': ('always', 'cold start: the first ~40 s of ticks fall back while the anchor syncs and the '
                                   'features warm up, in a 5m rate window holding only the minutes since start '
                                   '(pending only, for: 5m); after the replay ends the features go stale'),
    'RedisOperationsSlow': ('always', 'aggregator flush p95 above 5 ms (9.7 ms seen) with debug binaries on the '
                                      'loaded 2-core machine; a debug-build performance figure, not a fault'),
    'RedisReadLatencyHigh': ('always', 'inference Redis read p95 above 5 ms (9.5 ms seen) with debug binaries on '
                                       'the loaded 2-core machine; a debug-build performance figure'),
    'ModelAccuracyDegraded': ('always', 'the served model on the spot recording: 52.9 % out of sample on moved windows '
                                        '(model/reports/evaluation.json, spot), below the seed\'s 55 % line; model '
                                        'quality on this data, not a pipeline fault (for: 10m, so pending only)'),
    'ModelCorrelationLow': ('always', 'the model on this 11-minute recording: prediction/outcome correlation p50 '
                                      '~0.18 (< 0.3); model quality on the test data, not a pipeline fault'),
    'InferenceAvailabilitySLOFastBurn': ('always', 'cold start: the first ticks (features incomplete / anchor not '
                                                   'synced) are fallbacks counted as errors in windows holding only '
                                                   'the minutes since start; resolved within for: 2m'),
    'InferenceAvailabilitySLOSlowBurn': ('always', 'cold start, as InferenceAvailabilitySLOFastBurn (for: 15m)'),
}
# Recovery bounds (seconds from the fault), issue 19: 3 x the largest time measured on this 2-core
# machine with debug binaries (docs/e2e.md "Bounds": every short and full run of 2026-12-02 that got
# that far, plus the earlier table), rounded up to a whole second. Alert deliveries are mostly
# configuration (`for:`, scrape and evaluation intervals), which does not scale with load: for them
# the configured `for:` plus 3 x the measured remainder. Every bound is counted from the fault
# (time_left): the time a scenario spends between the fault and the wait (a restart, an earlier
# wait) is inside it.
BOUND_S = {
    'source_switch_synced': 11,  # measured 0.7-3.5 s
    'source_switch_ml': 15,      # 1.2-4.7 s
    'gap_synced': 2,             # 0.2-0.4 s
    'gap_ml': 6,                 # 1.6-2.0 s
    'gap_alert': 41,             # SbeSequenceGaps (for: 0m) from the fault: 8.7 s; earlier 1.0-11.5 s from the wait's
                                 # start, which began 1.6-2.0 s (+ a 0.5 s poll) after the fault: <= 13.6 s
    'storm_synced': 3,           # 0.4-0.8 s after the last disconnect
    'storm_ml': 7,               # 0.2-2.2 s
    'rest429_synced': 11,        # 3.2-3.4 s (Retry-After 3 s)
    'rest429_ml': 16,            # 5.0-5.2 s
    'kill_aggregator_synced': 38,  # 9.7-12.4 s (lease TTL 10 s)
    'kill_aggregator_ml': 43,      # 10.0-14.2 s
    'redis_restart_alert': 112,  # RedisOperationFailures (for: 1m): 60 + 3 x (77.1 - 60), measured 67.6-77.1 s
    'redis_restart_synced': 43,  # 8.1-14.3 s
    'redis_restart_ml': 43,      # 8.6-12.1 s; bounded like the sync it follows (14.3 s in the slowest run)
    'kinesis_restart_ml': 40,    # 7.0-13.1 s
    'kill_inference_alert': 53,  # InferenceHealthCheckFailed: for: 30s + 3 x (37.5 - 30) s, measured 34.5-37.5 s
    'kill_inference_ml': 6,      # 0.0-1.8 s after the restart
    'reshard_moved': 5,          # closed shard(s) ended=1, child checkpoint advancing, synced: split 1.1-1.4 s, merge 0.5
    'reshard_ml': 6,             # 1.5-1.7 s split, 0.0-0.3 s merge
}
# First ML prediction after the services start (steady phase): 5.2-11.9 s measured, 3 x 11.9.
FIRST_ML_BOUND_S = 36
# Replay end -> ingestor buffer empty and checkpoint = last Kinesis record. Measured 0.7 s (short run); 3 x 0.7
# = 2.1 s, raised to 5 s: each poll reads the whole stream back from kinesalite (~0.5-1 s at 1 700-3 500
# records), so the check resolves one poll at a time.
DRAIN_BOUND_S = 5
STORM_DISCONNECTS = 5
SPOT = ('hftbacktest/examples/spot/btcusdt_20240808.gz', 'hftbacktest/examples/spot/btcusdt_20240809.gz')
RECORDING_SECONDS = 651  # spot pair, receive-time span (docs/simulator.md)


class Ctx:
    pass


def ingestor_counts(stack):
    m = scrape(stack.url('ingestor', '/metrics'))
    return {
        'trade': metric_sum(m, 'ingestor_sbe_messages_total', message_type='trade'),
        'best_bid_ask': metric_sum(m, 'ingestor_sbe_messages_total', message_type='best_bid_ask'),
        'depth_diff': metric_sum(m, 'ingestor_sbe_messages_total', message_type='depth_diff'),
        'unknown': metric_sum(m, 'ingestor_sbe_messages_total', message_type='unknown'),
        'drop_intentional': metric_sum(m, 'ingestor_events_dropped_total', intentional='true'),
        'drop_unintentional': metric_sum(m, 'ingestor_events_dropped_total', intentional='false'),
        # buffer_full is a loss (intentional="false" since issue 19), counted apart to name it
        'drop_buffer_full': metric_sum(m, 'ingestor_events_dropped_total', reason='buffer_full'),
        'drop_all': metric_sum(m, 'ingestor_events_dropped_total'),
        'gaps': metric_sum(m, 'ingestor_sbe_sequence_gaps_total'),
        'reconnections': metric_sum(m, 'ingestor_sbe_reconnections_total'),
        'rest_429': metric_sum(m, 'ingestor_rest_api_calls_total', status='429'),
        'rest_418': metric_sum(m, 'ingestor_rest_api_calls_total', status='418'),
        'records_sent': metric_sum(m, 'ingestor_kinesis_records_sent_total'),
        'connected': metric_sum(m, 'ingestor_sbe_connection_status'),
    }


def aggregator_counts(stack):
    m = scrape(stack.url('aggregator', '/metrics'))
    out = {s: metric_sum(m, 'aggregator_kinesis_records_processed_total', status=s)
           for s in ('applied', 'duplicate', 'poison', 'unknown_schema')}
    out['reanchor_success'] = metric_sum(m, 'aggregator_reanchor_operations_total', status='success')
    out['reanchor_failed'] = metric_sum(m, 'aggregator_reanchor_operations_total', status='failed')
    return out


def sent(stats):
    s = stats['sent']
    return {'trade': s.get('trade', 0), 'best_bid_ask': s.get('bestBidAsk', 0), 'depth_diff': s.get('depth', 0)}


def anchor(stack):
    a = stack.redis.hgetall_str(K_ANCHOR)
    return a.get('state'), int(a.get('epoch') or -1)


def drain_state(stack, shard):
    """What an undrained pipeline looks like (for a failed drain check)."""
    try:
        depth = metric_sum(scrape(stack.url('ingestor', '/metrics')), 'ingestor_buffer_depth')
        recs = stack.kinesis.read_all(shard)
        return (f'ingestor buffer depth {depth:.0f}, checkpoint {check.ckpt_seq(stack.redis, shard)}, '
                f'last Kinesis record {recs[-1][0] if recs else None}')
    except Exception as e:  # noqa: BLE001
        return f'state unreadable: {e}'


def synced_after(stack, epoch0):
    st, ep = anchor(stack)
    return st == 'synced' and ep > epoch0 and (ep,)


# --- phase 1: steady replay ---------------------------------------------------------------------------

def steady(ctx):
    stack, rep = ctx.stack, ctx.rep
    t_services = ctx.t_services
    facts = recording_facts(stack.replay_files) if ctx.replay else None
    if facts:
        log(f'recording: {facts["counts"]}, last bookTicker {facts["last_ticker"]["bid"]}/{facts["last_ticker"]["ask"]}')
    budget = (RECORDING_SECONDS / ctx.speed + 120) if ctx.replay else ctx.synthetic_secs
    t_end_wait = t_services + budget
    last_log = last_alerts = 0
    ctx.alerts_during = set()  # (alertname, state) seen in Prometheus while the replay runs
    while True:
        st = check.sim_stats(stack)
        if now() - last_alerts > 5:  # the test Prometheus evaluates rules every 5 s
            last_alerts = now()
            try:
                ctx.alerts_during.update((a['labels']['alertname'], a['state']) for a in ctx.prom.alerts())
            except Exception as e:  # noqa: BLE001 (Prometheus still starting)
                log(f'alerts not readable yet: {e}')
        if ctx.replay and st['source']['finished']:
            t_finished = now()
            break
        if not ctx.replay and now() - t_services >= ctx.synthetic_secs:
            t_finished = now()
            break
        if now() > t_end_wait:
            rep.check('replay reaches its end', False, f'not finished after {budget:.0f} s: {st["source"]}')
            raise RuntimeError('replay did not finish')
        for p in ('ingestor', 'aggregator', 'inference', 'exchange-sim'):
            if not stack.procs[p].alive():
                raise RuntimeError(f'{p} exited during the replay:\n{stack.procs[p].tail(20)}')
        if now() - last_log > 20:
            last_log = now()
            lag = ''
            try:
                lag = stack.redis.hgetall_str(K_FEATURES).get('state')
            except Exception:  # noqa: BLE001
                pass
            log(f'source: {st["source"]["events"]} events, sent {st["sent"]}, anchor {lag}')
        time.sleep(0.5)
    shard = stack.kinesis.shards()[0]
    ctx.shard = shard
    if ctx.replay:
        ctx.rep.number('replay_wall_s', round(t_finished - t_services, 1))
        log(f'source finished after {t_finished - t_services:.1f} s (speed {ctx.speed})')
    else:
        # the synthetic market never ends: pause it so the accounting below sees a quiet pipeline
        log(f'synthetic market ran {t_finished - t_services:.1f} s; stalling it for the accounting')
        try:
            stall(ctx)
        except TimeoutError as e:
            rep.check('pipeline drains during the stall', False, str(e))
    try:
        _, waited = wait_until('pipeline drained (checkpoint = last Kinesis record)',
                               lambda: check.drained(stack, shard), DRAIN_BOUND_S)
        rep.number('drain_s', round(waited, 1))
    except TimeoutError as e:
        waited = None
        log(str(e))
    rep.check(f'pipeline drains after the replay within {DRAIN_BOUND_S} s (ingestor buffer empty, checkpoint = '
              f'last Kinesis record)', waited is not None,
              f'{waited:.1f} s after the source finished' if waited is not None else
              f'not drained after {DRAIN_BOUND_S} s: {drain_state(stack, shard)}')
    if waited is None:
        raise RuntimeError('the pipeline did not drain after the replay')

    # predictions over the whole steady run
    preds = check.predictions(stack.redis)
    ml = [p for _, p in preds if p.get('served_by') == 'ml' and p.get('fallback_reason') is None]
    if not ml:
        rep.check('steady: an ML prediction is published', False, f'{len(preds)} predictions, none from the model')
        return
    t_first = ml[0]['tick_time_us'] / 1e6
    rep.check(f'steady: first ML prediction within {FIRST_ML_BOUND_S} s of the services starting',
              t_first - t_services <= FIRST_ML_BOUND_S,
              f'{t_first - t_services:.1f} s')
    check.check_predictions(rep, preds, t_first, t_finished - 1.0, 'steady')
    status, body = http_get(stack.url('inference', '/v1/predictions/latest'))
    latest = json.loads(body) if status == 200 else {}
    rep.check('inference API /v1/predictions/latest serves the latest Redis prediction',
              status == 200 and latest.get('tick_time_us') == preds[-1][1]['tick_time_us'],
              f'HTTP {status}, api slot {latest.get("tick_time_us")}, redis slot {preds[-1][1]["tick_time_us"]}')
    # issue 18: ticks take the features the aggregator's flush script pushed (TLS + ACL users as in
    # production), the HGETALL read only as the fallback (start-up, quiet stretches > 1 s)
    inf = scrape(stack.url('inference', '/metrics'))
    pushed = metric_sum(inf, 'inference_feature_source_total', source='push')
    read = metric_sum(inf, 'inference_feature_source_total', source='read')
    reasons = {r: metric_sum(inf, 'inference_feature_push_fallbacks_total', reason=r)
               for r in ('disconnected', 'no_snapshot', 'silent', 'lagging')}
    rep.check('steady: most ticks use the features pushed by the aggregator (no read round trip)',
              pushed > 0 and pushed >= 0.5 * (pushed + read),
              f'{pushed:.0f} from the push, {read:.0f} read; fallbacks {reasons}')

    # event accounting: simulator -> ingestor -> Kinesis -> aggregator
    st = check.sim_stats(stack)
    s = sent(st)
    ing = ingestor_counts(stack)
    agg = aggregator_counts(stack)
    _, records = check.kinesis_events(stack.kinesis)
    kc = check.count_events(records)
    ctx.boundary_seq = records[-1][0]
    log(f'accounting: sim sent {s}, ingestor {ing}, kinesis {kc} in {len(records)} records, aggregator {agg}')
    if not facts:
        log('no recording: the recording-based checks (sent = recorded events, final book = last '
            'bookTicker) are skipped')
    if facts:
        c = facts['counts']
        exp = {'trade': c['trade'], 'best_bid_ask': c['bookTicker'], 'depth_diff': c['depth']}
        rep.check('accounting: the simulator sent every recorded event (trade, bookTicker, depth)', s == exp,
                  f'sent {s}, recording {exp}')
    rep.check('accounting: the ingestor received every event the simulator sent',
              all(ing[k] == s[k] for k in s) and ing['unknown'] == 0, f'ingestor {dict((k, ing[k]) for k in s)}')
    k_market = sum(kc.get(k, 0) for k in s)
    # The replay (~100 000 events) is shorter than the producer buffer (producer.max_buffered_events
    # 200 000): no drop of any kind is acceptable, policy or buffer_full.
    rep.check('accounting: every received event is in Kinesis, zero drops of any kind',
              all(kc.get(k, 0) == ing[k] for k in s) and k_market == sum(ing[k] for k in s)
              and ing['drop_all'] == 0,
              f'kinesis {dict((k, kc.get(k, 0)) for k in s)}, drops: intentional {ing["drop_intentional"]:.0f}, '
              f'unintentional {ing["drop_unintentional"]:.0f} (buffer_full {ing["drop_buffer_full"]:.0f})')
    rep.check('accounting: the aggregator applied every Kinesis record exactly once',
              agg['applied'] == len(records) and agg['duplicate'] == agg['poison'] == agg['unknown_schema'] == 0
              and check.ckpt_seq(stack.redis, shard) == records[-1][0],
              f'{len(records)} records in Kinesis, applied {agg["applied"]:.0f}, duplicate {agg["duplicate"]:.0f}, '
              f'poison {agg["poison"]:.0f}, checkpoint at the last record')
    rep.number('replay_events_sent', sum(s.values()))
    rep.number('kinesis_records_steady', len(records))

    # final book
    b = stack.redis.hgetall_str(check.K_BOOK)
    if facts:
        lt = facts['last_ticker']
        from decimal import Decimal
        rep.check("final book: best bid/ask equal the recording's last bookTicker",
                  b.get('best_bid') and Decimal(b['best_bid']) == lt['bid'] and Decimal(b['best_ask']) == lt['ask'],
                  f'redis {b.get("best_bid")}/{b.get("best_ask")}, last bookTicker {lt["bid"]}/{lt["ask"]} '
                  f'(u {lt["u"]})')
        bids, asks = facts['top']
        check.check_book_against(rep, 'final book vs recording', b, bids, asks, facts['book_last_u'])
    check.check_book_vs_kinesis(rep, 'final book vs Kinesis', stack, shard, records)

    # Prometheus: give it one more scrape of every job after the drain
    time.sleep(11)
    check.check_prometheus(rep, stack, ctx.prom)
    t_inf = ctx.t_services
    age = now() - t_inf
    firing = check.firing_alerts(ctx.prom)
    fired_during = sorted({n for n, st in ctx.alerts_during if st == 'firing'})
    unexpected = [a for a in sorted(set(firing) | set(fired_during))
                  if a not in STEADY_FIRING_OK or age > STEADY_FIRING_OK[a][0]]
    hooks = [a for a in stack.webhook.alerts() if a[2] == 'firing']
    bad_hooks = [a for a in hooks if a[3] not in STEADY_FIRING_OK or a[0] - t_inf > STEADY_FIRING_OK[a[3]][0]]
    expected = sorted({f'{a[3]} at +{a[0] - t_inf:.0f} s' for a in hooks if a not in bad_hooks})
    rep.check('steady: no alert fires (outside the documented expected set)', not unexpected and not bad_hooks,
              f'firing now {firing}, fired during the replay {fired_during}, expected notifications seen '
              f'{expected}' + (f', unexpected {unexpected}' if unexpected else '')
              + (f', unexpected notifications {bad_hooks[:5]}' if bad_hooks else ''))
    pending_end = check.pending_alerts(ctx.prom)
    pending_during = sorted({n for n, st in ctx.alerts_during if st == 'pending'})
    bad_pending = sorted({a for a in pending_end if a not in STEADY_PENDING_OK}
                         | {a for a in pending_during if STEADY_PENDING_OK.get(a, ('',))[0] != 'always'})
    rep.check('steady: no alert pending (outside the documented allow-list e2e.STEADY_PENDING_OK)', not bad_pending,
              f'pending at the end {pending_end}, pending while the replay ran {pending_during}'
              + (f'; not allowed: {bad_pending}' if bad_pending else ''))
    rep.number('steady_pending_alerts', {'end': pending_end, 'during': pending_during})


# --- phase 2: chaos -----------------------------------------------------------------------------------

STALL_MS = 8000


def stall(ctx):
    """Pause the simulator's market losslessly (connections stay open, nothing is produced or lost;
    afterwards event times are current again) so the pipeline can drain. Not a `stall`: that is a
    network stall, during which the market goes on and its frames are lost (docs/simulator.md)."""
    http_send('POST', ctx.stack.sim_url + '/admin/fault', {'type': 'pause', 'duration_ms': STALL_MS})
    ctx.stall_until = now() + STALL_MS / 1000 + 0.5
    time.sleep(0.5)
    return wait_until('pipeline drained during the stall', lambda: check.drained(ctx.stack, ctx.shard), 10)


def stall_end(ctx):
    time.sleep(max(0.0, ctx.stall_until - now()))


def stall_and_account(ctx, label, allow_inflight_loss=False, stalled=False):
    """Quiesce the feed with a simulator stall, wait until the pipeline has drained, then check the
    accounting since the chaos phase began and the Redis book against the Kinesis reference."""
    stack, rep = ctx.stack, ctx.rep
    try:
        if not stalled:
            stall(ctx)
    except TimeoutError as e:
        rep.check(f'{label}: pipeline drains (checkpoint = last Kinesis record)', False, str(e))
        stall_end(ctx)
        return
    s = sent(check.sim_stats(stack))
    ing = ingestor_counts(stack)
    _, records = check.kinesis_events(stack.kinesis)
    kc = check.count_events(records, ctx.boundary_seq)
    if now() > ctx.stall_until - 0.3:
        rep.check(f'{label}: accounting read inside the stall', False,
                  'the reads took longer than the stall; the counts below may be inconsistent')
    recv = {k: ing[k] - ctx.ing0[k] for k in s}
    drops_all = ing['drop_all'] - ctx.ing0['drop_all']
    k_market = {k: kc.get(k, 0) for k in s}
    known = getattr(ctx, 'inflight_lost', {k: 0 for k in s})  # lost in cut TCP connections earlier
    lost = {k: s[k] - known[k] - recv[k] for k in s}
    if allow_inflight_loss:
        ok = all(v >= 0 for v in lost.values())
        rep.check(f'{label}: the ingestor received what the simulator sent, minus frames lost in cut connections',
                  ok, f'sent-received {lost}')
        ctx.inflight_lost = {k: known[k] + max(0, lost[k]) for k in s}
        rep.number(f'inflight_lost_{label}', lost)
    else:
        rep.check(f'{label}: the ingestor received every event the simulator sent', all(v == 0 for v in lost.values()),
                  f'sent {s}, received {recv}' + (f', minus {known} lost in cut connections before' if any(known.values()) else ''))
    # Every scenario is far shorter than the producer buffer (200 000 events): zero drops of any kind.
    rep.check(f'{label}: every received event is in Kinesis, zero drops of any kind (policy or buffer_full)',
              all(k_market[k] == recv[k] for k in s) and drops_all == 0,
              f'kinesis {k_market}, received {recv}, drops since the chaos phase began {drops_all:.0f} '
              f'(buffer_full {ing["drop_buffer_full"] - ctx.ing0["drop_buffer_full"]:.0f})')
    agg = aggregator_counts(stack)
    rep.check(f'{label}: no duplicate, poison or unknown-schema record at the aggregator',
              agg['duplicate'] == agg['poison'] == agg['unknown_schema'] == 0, json.dumps(agg))
    check.check_book_vs_kinesis(rep, f'{label}', stack, ctx.shard, records)
    stall_end(ctx)


def time_left(t0, bound):
    """Seconds left of a bound counted from the fault at t0 (not from the call: work done since the
    fault, e.g. an earlier wait or a restart, is inside the bound)."""
    return max(0.0, bound - (now() - t0))


def fresh_ml(ctx, label, t0, bound):
    what = f'{label}: fresh ML predictions again within {bound} s'
    try:
        p, _ = check.wait_fresh_ml(ctx.stack, t0, time_left(t0, bound))
        dt = p['tick_time_us'] / 1e6 - t0
        ctx.rep.check(what, dt <= bound, f'{dt:.1f} s' + ('' if dt <= bound else f', over the {bound} s bound'))
        ctx.rep.number(f'recovery_predictions_s_{label}', round(dt, 1))
        return dt <= bound
    except TimeoutError:
        ctx.rep.check(what, False, f'no fresh ML prediction {now() - t0:.1f} s after the fault')
        return False


def wait_webhook(ctx, label, alertname, path_prefix, t0, bound):
    what = f'{label}: alert {alertname} reaches the webhook on {path_prefix}* within {bound} s'
    try:
        hit, _ = wait_until(f'{alertname} at {path_prefix}', lambda: [
            a for a in ctx.stack.webhook.alerts(t0) if a[3] == alertname and a[2] == 'firing'
            and a[1].startswith(path_prefix)], time_left(t0, bound), interval=0.5)
        dt = min(a[0] for a in hit) - t0  # the webhook's receive time, not the poll's
        paths = sorted({a[1] for a in ctx.stack.webhook.alerts(t0) if a[3] == alertname})
        ctx.rep.check(what, dt <= bound, f'{dt:.1f} s after the fault; paths {paths}'
                      + ('' if dt <= bound else f'; over the {bound} s bound'))
        ctx.rep.number(f'alert_latency_s_{alertname}', round(dt, 1))
    except TimeoutError:
        seen = sorted({(a[1], a[3], a[2]) for a in ctx.stack.webhook.alerts(t0)})
        ctx.rep.check(what, False, f'not within {bound} s of the fault; webhook saw {seen}; '
                      f'firing {check.firing_alerts(ctx.prom)}')


def recovered(ctx, label, what, fn, bound, t0):
    try:
        wait_until(what, fn, time_left(t0, bound), interval=0.2)
        dt = now() - t0
        ctx.rep.check(f'{label}: {what} within {bound} s', dt <= bound,
                      f'{dt:.1f} s' + ('' if dt <= bound else f', over the {bound} s bound'))
        ctx.rep.number(f'recovery_s_{label}', round(dt, 1))
        return dt <= bound
    except TimeoutError:
        ctx.rep.check(f'{label}: {what} within {bound} s', False, f'not within {bound} s of the fault '
                      f'({now() - t0:.1f} s)')
        return False
    except RuntimeError as e:
        ctx.rep.check(f'{label}: {what} within {bound} s', False, str(e))
        return False


def sc_gap(ctx):
    stack = ctx.stack
    _, e0 = anchor(stack)
    ing0, agg0 = ingestor_counts(stack), aggregator_counts(stack)
    t0 = now()
    http_send('POST', stack.sim_url + '/admin/fault', {'type': 'drop_depth_diffs', 'count': 3})
    recovered(ctx, 'gap', 'book re-anchored (new epoch, synced)', lambda: synced_after(stack, e0),
              BOUND_S['gap_synced'], t0)
    ing, agg = ingestor_counts(stack), aggregator_counts(stack)
    ctx.rep.check('gap: the ingestor counted the sequence gap and the aggregator a successful re-anchor',
                  ing['gaps'] > ing0['gaps'] and agg['reanchor_success'] > agg0['reanchor_success'],
                  f'gaps {ing0["gaps"]:.0f}->{ing["gaps"]:.0f}, reanchor success '
                  f'{agg0["reanchor_success"]:.0f}->{agg["reanchor_success"]:.0f}')
    fresh_ml(ctx, 'gap', t0, BOUND_S['gap_ml'])
    wait_webhook(ctx, 'gap', 'SbeSequenceGaps', '/warning/', t0, BOUND_S['gap_alert'])
    stall_and_account(ctx, 'gap')


def sc_storm(ctx):
    stack = ctx.stack
    ing0 = ingestor_counts(stack)
    st0 = check.sim_stats(stack)
    t0 = now()
    for i in range(STORM_DISCONNECTS):
        # Each disconnect hits a live connection (the previous one was re-established: one
        # reconnection each), 1 s after it came back (data flowing, reconnect backoff reset), so the
        # count below is exact rather than "at least".
        wait_until(f'storm: ingestor connected before disconnect {i + 1}',
                   lambda i=i: ingestor_counts(stack)['connected'] == 1
                   and ingestor_counts(stack)['reconnections'] == ing0['reconnections'] + i, 30)
        if i:
            time.sleep(1.0)
        _, e_last = anchor(stack)
        http_send('POST', stack.sim_url + '/admin/fault', {'type': 'disconnect_all'})
    t1 = now()  # the last disconnect
    recovered(ctx, 'storm', 'ingestor reconnected and book re-anchored after the last disconnect',
              lambda: ingestor_counts(stack)['connected'] == 1 and synced_after(stack, e_last),
              BOUND_S['storm_synced'], t1)
    ing, st = ingestor_counts(stack), check.sim_stats(stack)
    forced = st['disconnects']['forced'] - st0['disconnects']['forced']
    n_rec = ing['reconnections'] - ing0['reconnections']
    ctx.rep.check(f'storm: exactly {STORM_DISCONNECTS} forced disconnects at the simulator and {STORM_DISCONNECTS} '
                  f'reconnections counted by the ingestor',
                  forced == STORM_DISCONNECTS and n_rec == STORM_DISCONNECTS,
                  f'simulator forced disconnects {forced}, ingestor reconnections {ing0["reconnections"]:.0f} -> '
                  f'{ing["reconnections"]:.0f} in {t1 - t0:.0f} s')
    fresh_ml(ctx, 'storm', t1, BOUND_S['storm_ml'])
    stall_and_account(ctx, 'storm', allow_inflight_loss=True)


def sc_rest429(ctx):
    stack = ctx.stack
    _, e0 = anchor(stack)
    ing0 = ingestor_counts(stack)
    st0 = check.sim_stats(stack)
    http_send('POST', stack.sim_url + '/admin/fault', {'type': 'rest', 'status': 429, 'count': 1, 'retry_after_secs': 3})
    t0 = now()
    http_send('POST', stack.sim_url + '/admin/fault', {'type': 'drop_depth_diffs', 'count': 2})
    recovered(ctx, 'rest429', 'book re-anchored after the 429 and Retry-After', lambda: synced_after(stack, e0),
              BOUND_S['rest429_synced'], t0)
    ing, st = ingestor_counts(stack), check.sim_stats(stack)
    took = ctx.rep.numbers.get('recovery_s_rest429', 0)
    n_rest = st['rest']['requests'] - st0['rest']['requests']
    ctx.rep.check('rest429: the ingestor got the 429, waited Retry-After (3 s) before the next request and was '
                  'never banned (418)',
                  ing['rest_429'] > ing0['rest_429'] and ing['rest_418'] == ing0['rest_418']
                  and st['rest']['banned_418'] == st0['rest']['banned_418'] and took >= 2.9 and n_rest <= 3,
                  f'429s {ing0["rest_429"]:.0f}->{ing["rest_429"]:.0f}, re-anchored after {took:.1f} s, '
                  f'{n_rest} REST requests meanwhile')
    fresh_ml(ctx, 'rest429', t0, BOUND_S['rest429_ml'])
    stall_and_account(ctx, 'rest429')


def sc_kill_aggregator(ctx):
    stack, rep = ctx.stack, ctx.rep
    time.sleep(2)
    st_before, e_before = anchor(stack)
    stack.procs['aggregator'].kill9()
    t0 = now()
    seq_ckpt = check.ckpt_seq(stack.redis, ctx.shard)
    log(f'kill -9 aggregator: checkpoint {seq_ckpt}, anchor {st_before} epoch {e_before}')
    time.sleep(2)
    stack.start_service('aggregator')
    recovered(ctx, 'kill_aggregator', 'restarted aggregator writes again (checkpoint advances, synced)',
              lambda: (check.ckpt_seq(stack.redis, ctx.shard) or 0) > seq_ckpt and anchor(stack)[0] == 'synced',
              BOUND_S['kill_aggregator_synced'], t0)
    _, e_after = anchor(stack)
    rep.check('kill_aggregator: the restart rebuilt the same anchor epoch (no re-anchor needed)',
              e_after == e_before, f'epoch {e_before} -> {e_after}')
    fresh_ml(ctx, 'kill_aggregator', t0, BOUND_S['kill_aggregator_ml'])
    # exactly once: the new instance applied exactly the records after the checkpoint
    try:
        stall(ctx)
    except TimeoutError as e:
        rep.check('kill_aggregator: pipeline drains after the restart', False, str(e))
        stall_end(ctx)
        return
    _, records = check.kinesis_events(stack.kinesis)
    after = sum(1 for seq, _ in records if seq > seq_ckpt)
    agg = aggregator_counts(stack)
    rep.check('kill_aggregator: the new instance applied exactly the records after the checkpoint '
              '(no double apply, none skipped)', agg['applied'] == after and agg['duplicate'] == 0,
              f'records after the checkpoint {after}, applied by the new instance {agg["applied"]:.0f}')
    stall_and_account(ctx, 'kill_aggregator', stalled=True)


def sc_redis_restart(ctx):
    stack = ctx.stack
    stack.procs['redis'].kill9()
    # issue 15: hold the outage until RedisOperationFailures pages (a real outage, not a 5 s blip);
    # recovery is then timed as before, from 5 s before the restart.
    wait_webhook(ctx, 'redis_restart', 'RedisOperationFailures', '/critical/', now(), BOUND_S['redis_restart_alert'])
    t0 = now()
    time.sleep(5)
    stack.start_redis()
    recovered(ctx, 'redis_restart', 'features rebuilt in the restarted (empty) Redis and synced',
              lambda: anchor(stack)[0] == 'synced' and stack.redis.cmd('EXISTS', K_FEATURES) == 1,
              BOUND_S['redis_restart_synced'], t0)
    fresh_ml(ctx, 'redis_restart', t0, BOUND_S['redis_restart_ml'])
    ctx.rep.check('redis_restart: predictions are published to Redis again',
                  (stack.redis.cmd('XLEN', check.K_PRED) or 0) > 0 and stack.redis.cmd('EXISTS', K_LATEST) == 1,
                  f'XLEN {stack.redis.cmd("XLEN", check.K_PRED)}')
    stall_and_account(ctx, 'redis_restart')


def sc_kinesis_restart(ctx):
    stack = ctx.stack
    stack.procs['kinesalite'].stop()
    t0 = now()
    time.sleep(5)
    stack.start_kinesalite()
    recovered(ctx, 'kinesis_restart', 'ingestor and aggregator flow again through the restarted kinesalite',
              lambda: check.wait_fresh_ml(stack, now(), 0.1), BOUND_S['kinesis_restart_ml'], t0)
    fresh_ml(ctx, 'kinesis_restart', t0, BOUND_S['kinesis_restart_ml'])
    stall_and_account(ctx, 'kinesis_restart')


def sc_kill_inference(ctx):
    stack, rep = ctx.stack, ctx.rep
    stack.procs['inference'].kill9()
    t0 = now()
    wait_webhook(ctx, 'kill_inference', 'InferenceHealthCheckFailed', '/critical/pager', t0,
                 BOUND_S['kill_inference_alert'])
    stack.start_service('inference')
    t1 = now()
    fresh_ml(ctx, 'kill_inference', t1, BOUND_S['kill_inference_ml'])
    time.sleep(11)
    preds = check.predictions(stack.redis)
    check.check_predictions(rep, preds, t1 + 3, now() - 1, 'kill_inference after restart')


OVERLAP_S = 36


def sc_inference_overlap(ctx):
    """Issue 14 item 3: a second inference process beside the first for >= 30 s, as ECS runs old and
    new tasks side by side during a rolling deploy: exactly one prediction per 2 s slot in the stream
    (the publish script is idempotent per slot), the later writer of each slot counts its lost write
    in inference_duplicate_slot_writes_total. The second process checks market-time freshness (5 s):
    the synthetic market's event times must be current after the accounting pauses."""
    stack, rep = ctx.stack, ctx.rep
    port = free_ports(1)[0]
    base = f'http://127.0.0.1:{port}'
    env = dict(stack.service_env()['inference'], INFERENCE__HTTP__LISTEN=f'127.0.0.1:{port}',
               INFERENCE__TICK__MAX_MARKET_AGE_MS='5000')
    p = stack.add('inference-overlap', [stack.bin('inference')], env)
    p.start()
    try:
        wait_until('second inference ready (first tick done)', lambda: http_get(base + '/ready', 2)[0] == 200, 60,
                   procs=[p])
        t0 = now()
        while now() - t0 < OVERLAP_S:
            if not p.alive() or not stack.procs['inference'].alive():
                raise RuntimeError('an inference process exited during the overlap')
            time.sleep(1)
        t1 = now()
        m1, m2 = scrape(stack.url('inference', '/metrics')), scrape(base + '/metrics')
        status, body = http_get(base + '/v1/predictions/latest', 2)
        second = json.loads(body) if status == 200 else {}
    finally:
        p.stop()
        stack.procs.pop('inference-overlap', None)
    preds = check.predictions(stack.redis)
    win = [q['tick_time_us'] for _, q in preds if t0 + 1 <= q['tick_time_us'] / 1e6 <= t1 - 1]
    doubled = sorted({s for s in win if win.count(s) > 1})
    rep.check('inference_overlap: exactly one stream entry per slot while two inference processes ran',
              not doubled and len(win) >= (t1 - t0 - 2) / 2 - 1,
              f'{len(win)} entries over {t1 - t0:.0f} s, slots published more than once: {doubled[:5]}')
    check.check_predictions(rep, preds, t0 + 1, t1 - 1, 'inference_overlap')
    dup = metric_sum(m1, 'inference_duplicate_slot_writes_total') + \
        metric_sum(m2, 'inference_duplicate_slot_writes_total')
    rep.check('inference_overlap: the lost writes are counted (inference_duplicate_slot_writes_total)',
              dup >= len(win) - 2, f'{dup:.0f} duplicates counted for {len(win)} slots')
    rep.number('inference_overlap_duplicates', dup)
    rep.check('inference_overlap: the replica checking market time serves ML on a current market',
              second.get('served_by') == 'ml' and (second.get('market_age_ms') or 1e9) < 5000,
              f'served_by {second.get("served_by")}, fallback {second.get("fallback_reason")}, '
              f'market_age_ms {second.get("market_age_ms")}')


def open_shards(kin):
    """Open shards (no ending sequence number), in hash key order."""
    d = kin.call('DescribeStream', {'StreamName': kin.stream})['StreamDescription']['Shards']
    return [s['ShardId'] for s in sorted(d, key=lambda s: int(s['HashKeyRange']['StartingHashKey']))
            if 'EndingSequenceNumber' not in s.get('SequenceNumberRange', {})]


def reshard_step(ctx, label, op, body, epochs):
    """SplitShard/MergeShards under live traffic; then the aggregator must finish the closed
    shard(s), continue on the one receiving the records at the same anchor epoch, and pass the
    accounting stall."""
    stack, rep, kin = ctx.stack, ctx.rep, ctx.stack.kinesis
    before = set(open_shards(kin))
    _, e0 = anchor(stack)
    kin.call(op, dict(body, StreamName=kin.stream))
    t0 = now()
    wait_until(f'stream ACTIVE after {op}', kin.active, 20)
    closed = sorted(before - set(open_shards(kin)))
    fresh = [s for s in open_shards(kin) if s not in before]
    log(f'{op}: closed {closed}, new {fresh}, anchor epoch {e0}')

    def live_shard():
        epochs.append(anchor(stack)[1])
        return next((s for s in fresh if kin.read_all(s)), None)
    shard, _ = wait_until(f'records on a shard created by {op}', live_shard, 30)
    ctx.shard = shard

    def moved_on():
        epochs.append(anchor(stack)[1])
        # a closed shard that never held a record has nothing to commit (no checkpoint)
        ends = [stack.redis.hgetall_str(f'{{BTCUSDT}}:ckpt:{s}').get('ended') for s in closed if kin.read_all(s)]
        return all(e == '1' for e in ends) and (check.ckpt_seq(stack.redis, shard) or 0) > 0 \
            and anchor(stack)[0] == 'synced'
    recovered(ctx, label, f'closed shard(s) finished (ended=1) and features update from {shard}', moved_on,
              BOUND_S['reshard_moved'], t0)
    _, e1 = anchor(stack)
    rep.check(f'{label}: the anchor epoch carried over (no reset to epoch 1, no re-anchor needed)', e1 == e0,
              f'epoch {e0} -> {e1}')
    fresh_ml(ctx, label, t0, BOUND_S['reshard_ml'])
    m = scrape(stack.url('aggregator', '/metrics'))
    refused = metric_sum(m, 'aggregator_state_repairs_total', kind='epoch_regression')
    rep.check(f'{label}: no flush refused for an epoch regression', refused == 0, f'{refused:.0f}')
    stall_and_account(ctx, label)


def sc_reshard(ctx):
    """Issue 14 item 1: split the stream under live traffic after at least one re-anchor (epoch >= 2),
    later merge the children; each followed by the accounting stall. Leaves ctx.shard on the merged
    shard. Listed last: kill_aggregator expects a restart to rebuild the same epoch, which after a
    reshard is by design a re-anchor at a newer epoch (services/aggregator/README.md)."""
    stack, rep = ctx.stack, ctx.rep
    _, e0 = anchor(stack)
    if e0 < 2:
        http_send('POST', stack.sim_url + '/admin/fault', {'type': 'drop_depth_diffs', 'count': 3})
        recovered(ctx, 'reshard', 'a re-anchor before the split (epoch >= 2)', lambda: synced_after(stack, e0), 30,
                  now())
    epochs = [anchor(stack)[1]]
    reshard_step(ctx, 'reshard_split', 'SplitShard',
                 {'ShardToSplit': ctx.shard, 'NewStartingHashKey': str(2 ** 127)}, epochs)
    time.sleep(5)
    pair = open_shards(stack.kinesis)
    reshard_step(ctx, 'reshard_merge', 'MergeShards',
                 {'ShardToMerge': pair[0], 'AdjacentShardToMerge': pair[1]}, epochs)
    back = [(a, b) for a, b in zip(epochs, epochs[1:]) if b < a]
    rep.check('reshard: the anchor epoch never went back (sampled through both reshards)', not back and epochs[0] >= 2,
              f'{len(epochs)} samples, {epochs[0]} -> {epochs[-1]}' + (f', decreases {back[:5]}' if back else ''))


def chaos(ctx, scenarios):
    stack, rep = ctx.stack, ctx.rep
    if ctx.replay:
        log('chaos: switching the exchange to the synthetic market (the replay has ended)')
        _, e0 = anchor(stack)
        stack.procs['exchange-sim'].stop()
        wait_until('ingestor sees the disconnect', lambda: ingestor_counts(stack)['connected'] == 0, 30)
        wait_until('drained', lambda: check.drained(stack, ctx.shard), 30)
        ctx.boundary_seq = stack.kinesis.read_all(ctx.shard)[-1][0]
        ctx.ing0 = ingestor_counts(stack)
        t0 = now()
        stack.start_sim('synthetic')
        recovered(ctx, 'source_switch', 'ingestor reconnected to the new exchange and book synced',
                  lambda: synced_after(stack, e0), BOUND_S['source_switch_synced'], t0)
        fresh_ml(ctx, 'source_switch', t0, BOUND_S['source_switch_ml'])
    else:
        wait_until('drained', lambda: check.drained(stack, ctx.shard), 30)
        ctx.boundary_seq = -1
        ctx.ing0 = {k: 0 for k in ingestor_counts(stack)}
    fns = {'gap': sc_gap, 'storm': sc_storm, 'rest429': sc_rest429, 'kill_aggregator': sc_kill_aggregator,
           'redis_restart': sc_redis_restart, 'kinesis_restart': sc_kinesis_restart,
           'kill_inference': sc_kill_inference, 'reshard': sc_reshard,
           'inference_overlap': sc_inference_overlap, 'lifecycle': sc_lifecycle}
    for name in scenarios:
        log(f'--- chaos scenario: {name}')
        t = now()
        try:
            fns[name](ctx)
        except Exception as e:  # noqa: BLE001 (a scenario error is a failed check, the suite goes on)
            rep.check(f'{name}: scenario ran without error', False, f'{type(e).__name__}: {e}')
            traceback.print_exc()
        rep.number(f'scenario_wall_s_{name}', round(now() - t, 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--run-dir', required=True)
    ap.add_argument('--short', action='store_true')
    ap.add_argument('--profile', default='debug')
    ap.add_argument('--speed', type=float, default=None)
    ap.add_argument('--scenarios', default=None)
    ap.add_argument('--data', default=os.path.join(ROOT, '..', 'shared', 'data', 'market'))
    ap.add_argument('--seed', type=int, default=7)
    args = ap.parse_args()

    files = [os.path.join(args.data, f) for f in SPOT]
    replay = all(os.path.isfile(f) for f in files)
    speed = args.speed or (6.0 if args.short else 3.0)
    if not replay:
        log(f'the spot recording is not at {args.data} ({", ".join(SPOT)}): using the synthetic market '
            f'(--synthetic --seed {args.seed}); the recording-based checks are skipped')
    scenarios = args.scenarios.split(',') if args.scenarios else (SHORT_SCENARIOS if args.short else SCENARIOS)
    for s in scenarios:
        if s and s not in SCENARIOS:
            sys.exit(f'unknown scenario {s!r}; known: {",".join(SCENARIOS)}')
    scenarios = [s for s in scenarios if s]

    ctx = Ctx()
    ctx.replay, ctx.speed, ctx.synthetic_secs = replay, speed, 120 if args.short else 200
    ctx.rep = Report(os.path.join(args.run_dir, 'report.json'))
    stack = Stack(ROOT, args.run_dir, args.profile, files if replay else [], speed, args.seed)
    ctx.stack = stack
    ctx.prom = Prometheus(stack.port['prom'])
    t_start = now()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    rc = 1
    try:
        log(f'run dir {args.run_dir}; ports {stack.port}; profile {args.profile}; '
            f'{"replay of the spot recording at speed " + str(speed) if replay else "synthetic market"}; '
            f'scenarios {scenarios}')
        stack.start_redis()
        stack.start_kinesalite()
        stack.start_observability('5s')
        stack.start_sim('replay' if replay else 'synthetic')
        ctx.t_services = now()
        for svc in ('ingestor', 'aggregator', 'inference'):
            stack.start_service(svc)
        log(f'stack up in {now() - t_start:.1f} s')
        # Redis runs with TLS + the ACL users of deploy/redis/acl.yaml, as ElastiCache in ECS.
        ctx.rep.check('redis ACL: inference cannot write a checkpoint, lease or features', *stack.acl_check())
        steady(ctx)
        ctx.rep.number('steady_phase_end_s', round(now() - t_start, 1))
        if not hasattr(ctx, 'shard'):
            ctx.shard = stack.kinesis.shards()[0]
        chaos(ctx, scenarios)
        rc = 0 if not ctx.rep.failed else 1
    except KeyboardInterrupt:
        log('interrupted')
        rc = 130
    except Exception as e:  # noqa: BLE001
        ctx.rep.check('suite ran to the end', False, f'{type(e).__name__}: {e}')
        traceback.print_exc()
        rc = 1
    finally:
        ctx.rep.number('total_wall_s', round(now() - t_start, 1))
        if rc != 0:
            for name, p in stack.procs.items():
                print(f'\n----- tail of {name} ({p.log_path}) -----\n{p.tail(25)}', flush=True)
        stack.stop_all()
    n_ok = sum(1 for r in ctx.rep.results if r['ok'])
    n_fail = len(ctx.rep.failed)
    for r in ctx.rep.failed:
        print(f'FAILED: {r["name"]} — {r["detail"]}')
    print(f'e2e{" (short)" if args.short else ""}: {n_ok} passed, {n_fail} failed in {now() - t_start:.0f} s '
          f'(report {ctx.rep.path})', flush=True)
    sys.exit(rc if rc else (1 if n_fail else 0))


if __name__ == '__main__':
    main()
