"""Shared helpers for train.py and evaluate.py: loading dataset-builder tables, splits and metrics.

Everything here is plain numpy. Direction labels follow crates/dataset: `flat` when |10 s return| < 0.5 bp.
"""

import csv
import json
import math
import subprocess
from pathlib import Path

import numpy as np

HORIZON_US = 10_000_000
# Purge + embargo between time-ordered splits: the 10 s label horizon plus 10 s.
SPLIT_GAP_US = 20_000_000
DIRECTIONS = {"up": 1, "down": -1, "flat": 0}


def feature_spec(builder):
    """The feature contract printed by `dataset-builder --feature-spec` (single source: crates/features)."""
    out = subprocess.run([str(builder), "--feature-spec"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


class Table:
    """A dataset-builder CSV: time_us, features..., completeness, mid, future_mid, return_10s, direction."""

    def __init__(self, path, feature_names):
        path = Path(path)
        with path.open(newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            rows = list(reader)
        expected = ["time_us", *feature_names, "completeness", "mid", "future_mid", "return_10s", "direction"]
        if header != expected:
            raise ValueError(f"{path}: header differs from the feature contract:\n{header}\n{expected}")
        n_f = len(feature_names)
        self.path = path
        self.feature_names = list(feature_names)
        self.time_us = np.array([int(r[0]) for r in rows], dtype=np.int64)
        self.x = np.array([r[1 : 1 + n_f] for r in rows], dtype=np.float64).reshape(len(rows), n_f)
        num = np.array([r[1 + n_f : 5 + n_f] for r in rows], dtype=np.float64).reshape(len(rows), 4)
        self.completeness, self.mid, self.future_mid, self.ret = num.T
        self.direction = np.array([DIRECTIONS[r[-1]] for r in rows], dtype=np.int64)

    def __len__(self):
        return len(self.time_us)

    def subset(self, mask):
        t = object.__new__(Table)
        t.path, t.feature_names = self.path, self.feature_names
        for name in ("time_us", "x", "completeness", "mid", "future_mid", "ret", "direction"):
            setattr(t, name, getattr(self, name)[mask])
        return t

    def between(self, start_us=None, end_us=None):
        mask = np.ones(len(self), dtype=bool)
        if start_us is not None:
            mask &= self.time_us >= start_us
        if end_us is not None:
            mask &= self.time_us < end_us
        return self.subset(mask)

    def column(self, name):
        return self.x[:, self.feature_names.index(name)]


def time_splits(table, fractions, gap_us=SPLIT_GAP_US):
    """Time-ordered boundaries: consecutive pieces covering `fractions` of the span, `gap_us` apart."""
    t0, t1 = int(table.time_us.min()), int(table.time_us.max()) + 1
    span = t1 - t0
    bounds, start = [], t0
    acc = 0.0
    for i, frac in enumerate(fractions):
        acc += frac
        end = t1 if i == len(fractions) - 1 else t0 + int(span * acc)
        bounds.append((start, end))
        start = end + gap_us
    return bounds


def wilson(successes, n, z=1.96):
    """95 % Wilson score interval for a proportion."""
    if n <= 0:
        return (float("nan"), float("nan"))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (centre - half, centre + half)


def effective_windows(time_us, horizon_us=HORIZON_US):
    """Greedy count of non-overlapping 10 s label windows among the rows."""
    count, next_free = 0, None
    for t in np.sort(time_us):
        if next_free is None or t >= next_free:
            count += 1
            next_free = t + horizon_us
    return count


def expected_calibration_error(p, y, bins=10):
    """ECE of P(up) against the up/down outcome (moved windows only), equal-width bins."""
    if len(p) == 0:
        return float("nan")
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(p[m].mean() - y[m].mean())
    return float(ece)


def calibration_curve(p, y, bins=10):
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    pts = []
    for b in range(bins):
        m = idx == b
        if m.sum() >= 5:
            pts.append((float(p[m].mean()), float(y[m].mean()), int(m.sum())))
    return pts


def past_direction(table):
    """Direction of the reference price over the previous 10 s (persistence baseline input).

    Uses the table's own price at T - 10 s when that row exists (works for trades-only data too), else the
    `return_10s_bps` feature; 0 when unknown or unchanged.
    """
    by_time = dict(zip(table.time_us.tolist(), table.mid.tolist()))
    feat = table.column("return_10s_bps")
    out = np.zeros(len(table), dtype=np.int64)
    for i, (t, mid) in enumerate(zip(table.time_us.tolist(), table.mid.tolist())):
        before = by_time.get(t - HORIZON_US)
        r = (mid - before) if before is not None else feat[i]
        out[i] = int(np.sign(r))
    return out


def direction_metrics(table, p_up, expected_return, majority_direction):
    """All per-dataset numbers of the evaluation report."""
    moved = table.direction != 0
    y_up = (table.direction[moved] == 1).astype(np.float64)
    n_moved = int(moved.sum())
    pred_dir = np.where(p_up >= 0.5, 1, -1)
    correct = int((pred_dir[moved] == table.direction[moved]).sum())
    acc = correct / n_moved if n_moved else float("nan")
    lo, hi = wilson(correct, n_moved)
    n_eff = effective_windows(table.time_us)
    # Wilson interval with the moved count shrunk by the overlap factor (rows per independent window).
    eff_moved = max(1, round(n_moved * n_eff / max(1, len(table))))
    lo_eff, hi_eff = wilson(acc * eff_moved, eff_moved)

    past = past_direction(table)
    persist = np.where(past == 0, majority_direction, past)
    persist_correct = int((persist[moved] == table.direction[moved]).sum())
    majority_correct = int((table.direction[moved] == majority_direction).sum())

    move_usd = table.future_mid - table.mid
    pred_usd = expected_return * table.mid
    corr = float(np.corrcoef(expected_return, table.ret)[0, 1]) if len(table) > 2 and np.std(expected_return) > 0 and np.std(table.ret) > 0 else float("nan")
    return {
        "n_windows": int(len(table)),
        "n_effective": int(n_eff),
        "n_moved": n_moved,
        "share_up_of_moved": float(y_up.mean()) if n_moved else float("nan"),
        "directional_accuracy_moved": acc,
        "ci95_low": lo,
        "ci95_high": hi,
        "ci95_low_effective": lo_eff,
        "ci95_high_effective": hi_eff,
        "baseline_persistence": persist_correct / n_moved if n_moved else float("nan"),
        "baseline_majority": majority_correct / n_moved if n_moved else float("nan"),
        "mae_usd": float(np.mean(np.abs(pred_usd - move_usd))) if len(table) else float("nan"),
        "baseline_zero_mae_usd": float(np.mean(np.abs(move_usd))) if len(table) else float("nan"),
        "correlation": corr,
        "ece": expected_calibration_error(p_up[moved], y_up),
        "majority_direction": "up" if majority_direction == 1 else "down",
    }


def clean_json(obj):
    """NaN → None so the JSON is strict."""
    if isinstance(obj, dict):
        return {k: clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_json(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
