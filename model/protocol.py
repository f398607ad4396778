"""The evaluation protocol of docs/model.md ("Evaluation protocol"), as code: walk-forward folds over the real
datasets (expanding window, calendar-causal training part, 20 s purge), causal baselines, the metrics and
their 10 s block-bootstrap intervals. Pure numpy; the model families live in families.py.
"""

import numpy as np

import common

S = 1_000_000
WARMUP_US = 30 * S  # rows before dataset start + 30 s are not used (longest candidate window)
PURGE_US = common.HORIZON_US + 10 * S  # label horizon + embargo: 20 s >= 10 s
REFIT_US = 120 * S  # test blocks (refit every two minutes of data)
FIRST_TEST_SHARE = 0.25
MIN_FIRST_TRAIN_US = 120 * S
EVAL_STEP_US = 2 * S  # evaluation rows: the inference tick
BLOCK_US = 10 * S  # bootstrap block
N_BOOT = 2000
BOOT_SEED = 16
MIN_LAST_BLOCK_US = 30 * S


class Dataset:
    """One real dataset: its 250 ms table, usable rows and name."""

    def __init__(self, name, table, pooled=True, note=""):
        self.name, self.pooled, self.note = name, pooled, note
        t0 = int(table.time_us.min())
        self.table = table.subset(table.time_us >= t0 + WARMUP_US)
        self.t0, self.t1 = t0, int(table.time_us.max())


def folds(ds):
    """Test blocks [start, end) of a dataset: after the first 25 % of its span (>= 120 s), 120 s each; a last
    block shorter than 30 s is merged into the previous one."""
    span = ds.t1 - ds.t0
    start = ds.t0 + max(int(span * FIRST_TEST_SHARE), MIN_FIRST_TRAIN_US)
    end_all = ds.t1 + 1
    out = []
    while start < end_all:
        end = min(start + REFIT_US, end_all)
        if end_all - end < MIN_LAST_BLOCK_US:
            end = end_all
        out.append((start, end))
        start = end
    return out


def training_rows(datasets, test_start, own=None):
    """Every row of every pooled dataset (and of `own`) whose label window plus embargo ends before
    `test_start` (calendar time). Diagnostic datasets (not pooled) never train another dataset's model."""
    parts = [d.table.subset(d.table.time_us + PURGE_US <= test_start) for d in datasets if d.pooled or d is own]
    return [p for p in parts if len(p)]


def stack(parts, names):
    x = np.vstack([p.x for p in parts]) if parts else np.zeros((0, len(names)))
    t = np.concatenate([p.time_us for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    d = np.concatenate([p.direction for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    r = np.concatenate([p.ret for p in parts]) if parts else np.zeros(0)
    return x, t, d, r


# ---- baselines (causal: everything fitted on the training part) ----------------------------------------

def majority_share(direction):
    moved = direction != 0
    return float((direction[moved] == 1).mean()) if moved.any() else 0.5


def rule_signal(table_x, names, rule):
    col = {"imbalance_rule": "book_imbalance_1", "microprice_rule": "microprice_dev_bps",
           "persistence": "return_10s_bps"}[rule]
    return np.sign(table_x[:, names.index(col)])


def fit_rule(x, direction, names, rule):
    """(hit rate of the rule where it has a sign, majority share) on the training part's moved rows."""
    share = majority_share(direction)
    if rule == "majority":
        return (None, share)
    s = rule_signal(x, names, rule)
    m = (direction != 0) & (s != 0)
    hit = float((s[m] == direction[m]).mean()) if m.any() else 0.5
    return (hit, share)


def predict_rule(x, names, rule, fitted):
    """(P(up), predicted up) of a rule. P(up): its training hit rate in the direction it points, the majority
    share when it is silent. The predicted direction is the rule's own (majority when silent), even when its
    training hit rate is below one half."""
    hit, share = fitted
    majority_up = share >= 0.5
    if rule == "majority":
        return np.full(len(x), share), np.full(len(x), majority_up)
    s = rule_signal(x, names, rule)
    p = np.where(s > 0, hit, np.where(s < 0, 1 - hit, share))
    return p, np.where(s == 0, majority_up, s > 0)


BASELINES = ("majority", "persistence", "imbalance_rule", "microprice_rule")


# ---- metrics ---------------------------------------------------------------------------------------------

def auc(p, y):
    """Mann-Whitney AUC with average ranks for ties; nan when a class is missing."""
    n1 = y.sum()
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    order = np.argsort(p, kind="mergesort")
    ps = p[order]
    ranks = np.empty(len(p))
    # average ranks of ties
    _, first, counts = np.unique(ps, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def ece(p, y, bins=10):
    idx = np.clip((p * bins).astype(int), 0, bins - 1)
    cnt = np.bincount(idx, minlength=bins)
    sp = np.bincount(idx, weights=p, minlength=bins)
    sy = np.bincount(idx, weights=y, minlength=bins)
    m = cnt > 0
    return float(np.sum(np.abs(sp[m] - sy[m])) / max(1, len(p)))


def point_metrics(p, y, pred=None):
    """Direction metrics on moved rows: p = P(up), y = 1 up / 0 down, pred = predicted up (default p >= 0.5;
    a rule's own direction for the rule baselines, whose probability is only their training hit rate)."""
    if len(y) == 0:
        return dict.fromkeys(("accuracy_moved", "balanced_accuracy", "auc", "log_loss", "brier", "ece"), float("nan"))
    pred = p >= 0.5 if pred is None else pred
    up, down = y == 1, y == 0
    rec_up = pred[up].mean() if up.any() else float("nan")
    rec_down = (~pred[down]).mean() if down.any() else float("nan")
    pc = np.clip(p, 1e-6, 1 - 1e-6)
    return {
        "accuracy_moved": float((pred == up).mean()),
        "balanced_accuracy": float(np.nanmean([rec_up, rec_down])),
        "auc": auc(p, y),
        "log_loss": float(-np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc))),
        "brier": float(np.mean((p - y) ** 2)),
        "ece": ece(p, y),
    }


DIRECTION_KEYS = ("accuracy_moved", "balanced_accuracy", "auc", "log_loss", "brier", "ece")


def independent_windows(time_us, dataset_id):
    n = 0
    for d in np.unique(dataset_id):
        n += common.effective_windows(time_us[dataset_id == d])
    return n


class Oos:
    """Out-of-sample evaluation rows of one or more datasets with every predictor's outputs."""

    def __init__(self, time_us, dataset_id, direction, mid, future_mid, probs, returns, preds):
        self.time_us, self.dataset_id, self.direction = time_us, dataset_id, direction
        self.mid, self.future_mid = mid, future_mid
        self.probs = probs  # name -> P(up) for every row
        self.preds = preds  # name -> predicted up (bool) for every row
        self.returns = returns  # name -> expected return (fraction) for every row

    def blocks(self):
        """Block id per row: (dataset, 10 s block since the dataset's first row)."""
        out = np.zeros(len(self.time_us), dtype=np.int64)
        offset = 0
        for d in np.unique(self.dataset_id):
            m = self.dataset_id == d
            b = (self.time_us[m] - self.time_us[m].min()) // BLOCK_US
            out[m] = b + offset
            offset += int(b.max()) + 1
        return out

    def figures(self, model, baselines, boot=True):
        """Point figures, bootstrap intervals and lifts for `model` against `baselines`."""
        moved = self.direction != 0
        y = (self.direction == 1).astype(np.float64)
        move_usd = self.future_mid - self.mid
        res = {
            "n_windows": int(len(self.time_us)),
            "n_moved": int(moved.sum()),
            "n_independent": int(independent_windows(self.time_us, self.dataset_id)),
            "share_up_of_moved": float(y[moved].mean()) if moved.any() else float("nan"),
        }

        def metrics_of(idx, name):
            mi = idx[moved[idx]]
            m = point_metrics(self.probs[name][mi], y[mi], self.preds[name][mi])
            if name in self.returns:
                pred_usd = self.returns[name][idx] * self.mid[idx]
                m["mae_usd"] = float(np.mean(np.abs(pred_usd - move_usd[idx]))) if len(idx) else float("nan")
            return m

        all_idx = np.arange(len(self.time_us))
        names = [model, *baselines]
        point = {n: metrics_of(all_idx, n) for n in names}
        point[model]["mae_usd_zero"] = float(np.mean(np.abs(move_usd))) if len(move_usd) else float("nan")
        if not boot:
            res["model"] = model
            res.update(point[model])
            res["baselines"] = {b: point[b] for b in baselines}
            return res
        boot = self.bootstrap(lambda idx: {n: metrics_of(idx, n) for n in names}
                              | {"_zero": {"mae_usd": float(np.mean(np.abs(move_usd[idx])))}})
        res["model"] = model
        for k, v in point[model].items():
            res[k] = v
            if k in boot.get(model, {}):
                lo, hi = boot[model][k]
                res[f"{k}_ci95"] = [lo, hi]
        res["ci95_low"], res["ci95_high"] = res["accuracy_moved_ci95"]
        res["baselines"] = {}
        for b in baselines:
            entry = dict(point[b])
            for k in DIRECTION_KEYS:
                entry[f"{k}_ci95"] = list(boot[b][k])
            entry["lift_accuracy"] = point[model]["accuracy_moved"] - point[b]["accuracy_moved"]
            entry["lift_accuracy_ci95"] = list(boot[f"lift_acc:{b}"])
            entry["lift_log_loss"] = point[b]["log_loss"] - point[model]["log_loss"]
            entry["lift_log_loss_ci95"] = list(boot[f"lift_ll:{b}"])
            res["baselines"][b] = entry
        res["mae_usd_lift_vs_zero_ci95"] = list(boot["mae_lift"])
        return res

    def bootstrap(self, compute):
        """Percentile 95 % intervals over block resamples (stratified by dataset), paired across predictors."""
        blocks = self.blocks()
        order = np.argsort(blocks, kind="stable")
        bounds = np.searchsorted(blocks[order], np.arange(blocks.max() + 2))
        block_rows = [order[bounds[i]:bounds[i + 1]] for i in range(blocks.max() + 1)]
        block_ds = np.array([self.dataset_id[r[0]] if len(r) else -1 for r in block_rows])
        rng = np.random.default_rng(BOOT_SEED)
        samples = []
        for _ in range(N_BOOT):
            picks = []
            for d in np.unique(self.dataset_id):
                ids = np.flatnonzero(block_ds == d)
                picks.append(rng.choice(ids, size=len(ids), replace=True))
            idx = np.concatenate([block_rows[i] for i in np.concatenate(picks)])
            samples.append(compute(idx))
        out = {}
        names = [k for k in samples[0] if not k.startswith("_")]
        model = names[0]
        for n in names:
            out[n] = {}
            for k in samples[0][n]:
                vals = np.array([s[n][k] for s in samples])
                out[n][k] = pct(vals)
        for b in names[1:]:
            out[f"lift_acc:{b}"] = pct(np.array([s[model]["accuracy_moved"] - s[b]["accuracy_moved"] for s in samples]))
            out[f"lift_ll:{b}"] = pct(np.array([s[b]["log_loss"] - s[model]["log_loss"] for s in samples]))
        out["mae_lift"] = pct(np.array([s["_zero"]["mae_usd"] - s[model].get("mae_usd", np.nan) for s in samples]))
        return out


def pct(vals):
    vals = vals[np.isfinite(vals)]
    if len(vals) == 0:
        return (float("nan"), float("nan"))
    return (float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5)))


def concat_oos(parts):
    """Joins per-dataset Oos objects (same predictor names)."""
    keys_p = parts[0].probs.keys()
    keys_r = parts[0].returns.keys()
    return Oos(
        np.concatenate([p.time_us for p in parts]),
        np.concatenate([p.dataset_id for p in parts]),
        np.concatenate([p.direction for p in parts]),
        np.concatenate([p.mid for p in parts]),
        np.concatenate([p.future_mid for p in parts]),
        {k: np.concatenate([p.probs[k] for p in parts]) for k in keys_p},
        {k: np.concatenate([p.returns[k] for p in parts]) for k in keys_r},
        {k: np.concatenate([p.preds[k] for p in parts]) for k in keys_p},
    )


def walk_forward(datasets, names, candidates, log=print):
    """Runs every candidate family and every baseline through the folds of every dataset.

    `candidates`: name -> family object with `fit(x, direction, ret, time_us) -> fitted` and
    `predict(fitted, x) -> (p_up, expected_return)`. Returns {dataset name: Oos}.
    """
    out = {}
    for di, ds in enumerate(datasets):
        ev = ds.table.subset(ds.table.time_us % EVAL_STEP_US == 0)
        parts = []
        for (start, end) in folds(ds):
            test = ev.between(start, end)
            if len(test) == 0:
                continue
            x, t, d, r = stack(training_rows(datasets, start, ds), names)
            probs, rets, preds = {}, {}, {}
            for cname, fam in candidates.items():
                fitted = fam.fit(x, d, r, t)
                p, er = fam.predict(fitted, test.x)
                probs[cname], rets[cname], preds[cname] = p, er, p >= 0.5
            for b in BASELINES:
                probs[b], preds[b] = predict_rule(test.x, names, b, fit_rule(x, d, names, b))
            parts.append(Oos(test.time_us, np.full(len(test), di), test.direction, test.mid, test.future_mid,
                             probs, rets, preds))
            log(f"  {ds.name} fold [{(start - ds.t0) / S:.0f} s, {(end - ds.t0) / S:.0f} s): "
                f"train {len(d)} rows, test {len(test)} rows")
        out[ds.name] = concat_oos(parts)
    return out
