"""Issue 17 e2e scenario `lifecycle`: the model lifecycle on the live stack.

The stack's inference process is replaced (same port, so Prometheus keeps scraping it) by one whose
model files live in the run directory (a promotion moves files; the repository's model/artifacts stay
untouched) and which has an admin token. Then: a challenger file appears (the baseline model) and is
loaded, runs in shadow (its own stream) and is scored; it is promoted through the admin API and serves
from the next tick; a rollback brings the first champion back from the next tick; both switches are
in the audit log and inference_model_promotions_total. Throughout: exactly one prediction per 2 s
slot. At the end the stack's own inference process is started again.
"""

import json
import os
import shutil
import urllib.error
import urllib.request

import check
from check import now
from clients import http_get, metric_sum, scrape
from stack import SYMBOL, log, wait_until

TOKEN = 'e2e-lifecycle-admin-token'
K_CHALLENGER = f'{{{SYMBOL}}}:predictions:challenger'


def admin_post(base, path, payload):
    req = urllib.request.Request(base + path, data=json.dumps(payload).encode(), method='POST',
                                 headers={'Content-Type': 'application/json', 'Authorization': f'Bearer {TOKEN}'})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b'{}')


def model(base):
    status, body = http_get(base + '/v1/model', 2)
    return json.loads(body) if status == 200 else {}


def served_after(stack, t_us):
    """True once a prediction of a slot at or after t_us is in the stream."""
    preds = check.predictions(stack.redis)
    return any(p['tick_time_us'] >= t_us for _, p in preds)


def sc_lifecycle(ctx):
    stack, rep = ctx.stack, ctx.rep
    d = os.path.join(stack.run_dir, 'lifecycle')
    os.makedirs(d, exist_ok=True)
    artifacts = os.path.join(stack.root, 'model', 'artifacts')
    for name in ('model.onnx', 'baseline.onnx'):
        shutil.copy(os.path.join(artifacts, name), os.path.join(d, name))
    challenger = os.path.join(d, 'challenger.onnx')
    audit = os.path.join(d, 'lifecycle-audit.jsonl')
    env = dict(stack.service_env()['inference'], INFERENCE__MODEL__PATH=os.path.join(d, 'model.onnx'),
               INFERENCE__LIFECYCLE__CHALLENGER_PATH=challenger, INFERENCE_ADMIN_TOKEN=TOKEN)
    base = stack.url('inference')
    stack.procs['inference'].stop()
    p = stack.add('inference-lifecycle', [stack.bin('inference')], env)
    p.start()
    try:
        wait_until('lifecycle inference ready', lambda: http_get(base + '/ready', 2)[0] == 200, 60, procs=[p])
        t0 = now()
        champion = model(base)['champion']['version']
        shutil.copy(os.path.join(artifacts, 'baseline.onnx'), challenger + '.tmp')
        os.rename(challenger + '.tmp', challenger)
        version, _ = wait_until('challenger loaded', lambda: model(base).get('challenger', {}).get('version'), 20,
                             procs=[p])
        rep.check('lifecycle: the challenger file is hot-loaded beside the champion',
                  version != champion, f'champion {champion}, challenger {version}')

        def scored():
            m = scrape(base + '/metrics')
            n = metric_sum(m, 'inference_model_scored_predictions_total', model='challenger')
            return n if n > 0 else None
        n, _ = wait_until('challenger predictions scored', scored, 40, procs=[p])
        shadow = stack.redis.cmd('XRANGE', K_CHALLENGER, '-', '+') or []
        rep.check('lifecycle: the challenger runs in shadow on its own stream and is scored 10 s later',
                  len(shadow) >= 5 and n > 0, f'{len(shadow)} challenger predictions, {n:.0f} scored')

        status, body = admin_post(base, '/v1/admin/promote', {'reason': 'e2e lifecycle', 'actor': 'e2e'})
        t_promote = now()
        wait_until('two ticks after the promotion', lambda: served_after(stack, (t_promote + 4) * 1e6),
                   15, procs=[p])
        status2, body2 = admin_post(base, '/v1/admin/rollback', {'reason': 'e2e lifecycle rollback'})
        t_rollback = now()
        wait_until('two ticks after the rollback', lambda: served_after(stack, (t_rollback + 4) * 1e6),
                   15, procs=[p])
        t1 = now()
        preds = check.predictions(stack.redis)
        win = [q for _, q in preds if t0 + 1 <= q['tick_time_us'] / 1e6 <= t1 - 1]
        # The slot after an answer is served by the new champion; the slot in flight may be either.
        wrong = [(q['tick_time_us'], q.get('model_version')) for q in win
                 if (t_promote + 2 <= q['tick_time_us'] / 1e6 < t_rollback - 2 and q.get('model_version') != version)
                 or (q['tick_time_us'] / 1e6 >= t_rollback + 2 and q.get('model_version') != champion)
                 or (q['tick_time_us'] / 1e6 < t_promote - 2 and q.get('model_version') != champion)]
        rep.check('lifecycle: promotion and rollback answer 200 and each switches the serving model within one tick',
                  status == 200 and status2 == 200 and not wrong,
                  f'promote {status} {body}, rollback {status2} {body2}' + (f'; wrong: {wrong[:5]}' if wrong else ''))
        check.check_predictions(rep, preds, t0 + 1, t1 - 1, 'lifecycle')
        with open(audit) as fh:
            log_lines = [json.loads(line) for line in fh if line.strip()]
        acts = [(e['action'], e['outcome'], e['from_version'], e['to_version']) for e in log_lines]
        rep.check('lifecycle: both switches are in the audit log with versions, actor and live scores',
                  acts == [('promote', 'done', champion, version), ('rollback', 'done', version, champion)]
                  and all(e['actor'].startswith('admin-token:') and 'scores' in e for e in log_lines),
                  f'{acts}')
        m = scrape(base + '/metrics')
        counts = {a: metric_sum(m, 'inference_model_promotions_total', action=a) for a in ('promote', 'rollback')}
        rep.check('lifecycle: inference_model_promotions_total counts one promote and one rollback',
                  counts == {'promote': 1, 'rollback': 1}, f'{counts}')
        rep.number('lifecycle_challenger_predictions', len(shadow))
    finally:
        p.stop()
        stack.procs.pop('inference-lifecycle', None)
        stack.start_service('inference')
        log('lifecycle: the stack inference process is back')
