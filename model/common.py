"""Shared helpers for train.py and evaluate.py: loading dataset-builder tables and small utilities.

Everything here is plain numpy. Direction labels follow crates/dataset: `flat` when |10 s return| < 0.5 bp.
"""

import csv
import json
import math
import subprocess
from pathlib import Path

import numpy as np

HORIZON_US = 10_000_000
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


def effective_windows(time_us, horizon_us=HORIZON_US):
    """Greedy count of non-overlapping 10 s label windows among the rows."""
    count, next_free = 0, None
    for t in np.sort(time_us):
        if next_free is None or t >= next_free:
            count += 1
            next_free = t + horizon_us
    return count


def calibration_curve(p, y, bins=10):
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    pts = []
    for b in range(bins):
        m = idx == b
        if m.sum() >= 5:
            pts.append((float(p[m].mean()), float(y[m].mean()), int(m.sum())))
    return pts


def clean_json(obj):
    """NaN → None so the JSON is strict."""
    if isinstance(obj, dict):
        return {k: clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_json(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
