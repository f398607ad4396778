"""Trains the 10 s direction / return model and the rollback baseline, exports both as ONNX, and writes
golden outputs for the Rust tract parity test.

Usage (see train.sh, which builds the datasets first):
    python model/train.py --builder <dataset-builder> --data model/data --artifacts model/artifacts

Data (time-ordered splits with a 20 s purge/embargo gap, so no label window crosses a boundary):
  * synthetic run, seed 1, 8 h, every 250 ms: first 85 % train, last 15 % validation;
  * real Binance spot recording 2024-08-08/09, every 250 ms: first 45 % train, next 15 % validation,
    last 40 % test (evaluated every 2 s by evaluate.py);
  * held-out synthetic run, seed 101, 2 h, every 2 s: test only.
"""

import argparse
import warnings
import datetime as dt
import hashlib
import json
import os
import random
from pathlib import Path

import numpy as np
import onnxruntime as ort
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor

import common
import export

SEED = 20240809
# Inputs the network uses. The rest (price level, spread, volumes, rates, volatility, time since trade)
# mostly describe *how busy* the market is, differ a lot between the synthetic and the real market, and
# carry no direction; they are zero-weighted (inv_std = 0) but stay in the input so the signature is the
# full feature list.
MODEL_INPUTS = [
    "microprice_dev_bps",
    "book_imbalance_1",
    "book_imbalance_5",
    "book_imbalance_10",
    "ofi_1s",
    "ofi_5s",
    "ofi_10s",
    "ofi_30s",
    "tfi_1s",
    "tfi_5s",
    "tfi_10s",
    "tfi_30s",
    "return_1s_bps",
    "return_5s_bps",
    "return_10s_bps",
    "return_30s_bps",
    "return_60s_bps",
    "vwap_dev_30s_bps",
]
BASELINE_INPUTS = ["return_10s_bps", "book_imbalance_1"]
# Total weight of the real training rows relative to the synthetic ones.
REAL_WEIGHT_SHARE = 0.15
HIDDEN = (32, 16)
ALPHAS = (1e-4, 1e-2)
REG_TARGET_CLIP_BPS = 10.0


def seed_everything():
    # 40 epochs is a deliberate budget (make train < 10 min on 2 cores); the validation set picks alpha.
    warnings.filterwarnings("ignore", message="Stochastic Optimizer: Maximum iterations")
    random.seed(SEED)
    np.random.seed(SEED)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def pooled_standardiser(parts, names, used):
    """Mean / std of the mixture that gives each part (domain) equal weight."""
    mean = np.zeros(len(names))
    inv_std = np.zeros(len(names))
    for name in used:
        j = names.index(name)
        mus = np.array([p[:, j].mean() for p in parts])
        second = np.array([np.mean(p[:, j] ** 2) for p in parts])
        mu = mus.mean()
        std = np.sqrt(max(second.mean() - mu**2, 0.0))
        mean[j], inv_std[j] = mu, (1.0 / std if std > 1e-12 else 0.0)
    return mean.astype(np.float32), inv_std.astype(np.float32)


def transform(x, mean, inv_std):
    x32 = x.astype(np.float32)
    return np.clip((x32 - mean) * inv_std, -export.CLIP, export.CLIP).astype(np.float64)


def weights(n_synth, n_real):
    w_real = REAL_WEIGHT_SHARE * n_synth / max(1, n_real)
    return np.concatenate([np.ones(n_synth), np.full(n_real, w_real)])


def log_loss(p, y, w):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(np.sum(-w * (y * np.log(p) + (1 - y) * np.log(1 - p))) / np.sum(w))


def fit_models(train_parts, val_parts, stats):
    """Fits classifier (moved rows: up vs down) and regressor (all rows, bps) for each alpha; keeps the
    alpha with the lowest weighted validation log-loss. `stats[i]` = (mean, inv_std) of part i's domain."""
    xs = [transform(t.x, *st) for t, st in zip(train_parts, stats)]
    w = weights(len(train_parts[0]), sum(len(t) for t in train_parts[1:]))
    x = np.vstack(xs)
    direction = np.concatenate([t.direction for t in train_parts])
    ret_bps = np.concatenate([t.ret for t in train_parts]) * 1e4
    moved = direction != 0
    y_up = (direction[moved] == 1).astype(int)

    xv = np.vstack([transform(t.x, *st) for t, st in zip(val_parts, stats)])
    wv = weights(len(val_parts[0]), sum(len(t) for t in val_parts[1:]))
    dv = np.concatenate([t.direction for t in val_parts])
    mv = dv != 0
    best = None
    for alpha in ALPHAS:
        clf = MLPClassifier(
            hidden_layer_sizes=HIDDEN,
            alpha=alpha,
            batch_size=256,
            learning_rate_init=1e-3,
            max_iter=40,
            n_iter_no_change=5,
            tol=1e-5,
            random_state=SEED % 2**31,
        )
        clf.fit(x[moved], y_up, sample_weight=w[moved])
        p = clf.predict_proba(xv[mv])[:, 1]
        loss = log_loss(p, (dv[mv] == 1).astype(float), wv[mv])
        acc = float(np.average((p >= 0.5) == (dv[mv] == 1), weights=wv[mv]))
        print(f"  alpha={alpha:g}: val log-loss {loss:.4f}, weighted val accuracy {acc:.4f}, epochs {clf.n_iter_}")
        if best is None or loss < best[0]:
            best = (loss, alpha, clf)
    _, alpha, clf = best
    reg_target = np.clip(ret_bps, -REG_TARGET_CLIP_BPS, REG_TARGET_CLIP_BPS)
    reg = MLPRegressor(
        hidden_layer_sizes=HIDDEN,
        alpha=alpha,
        batch_size=256,
        learning_rate_init=1e-3,
        max_iter=40,
        n_iter_no_change=5,
        tol=1e-5,
        random_state=SEED % 2**31,
    )
    reg.fit(x, reg_target, sample_weight=w)
    return clf, reg, alpha


def fit_baseline(train_parts, names):
    """Logistic (direction) + linear (return) on BASELINE_INPUTS, standardised like the MLP."""
    cols = [names.index(n) for n in BASELINE_INPUTS]
    mean, inv_std = pooled_standardiser([t.x for t in train_parts], names, BASELINE_INPUTS)
    w = weights(len(train_parts[0]), sum(len(t) for t in train_parts[1:]))
    xs = np.vstack([transform(t.x, mean, inv_std) for t in train_parts])
    direction = np.concatenate([t.direction for t in train_parts])
    ret_bps = np.clip(np.concatenate([t.ret for t in train_parts]) * 1e4, -REG_TARGET_CLIP_BPS, REG_TARGET_CLIP_BPS)
    moved = direction != 0
    logit = LogisticRegression(C=1.0, max_iter=1000).fit(xs[moved], (direction[moved] == 1).astype(int), sample_weight=w[moved])
    lin = LinearRegression().fit(xs, ret_bps, sample_weight=w)
    clf = ([logit.coef_.reshape(-1, 1)], [logit.intercept_])
    reg = ([lin.coef_.reshape(-1, 1)], [np.array([lin.intercept_])])
    return mean, inv_std, clf, reg, {n: float(logit.coef_[0][j]) for n, j in zip(BASELINE_INPUTS, cols)}


def run_onnx(model_bytes, x):
    sess = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    p, r = sess.run([export.OUT_P_UP, export.OUT_RETURN], {export.INPUT: x.astype(np.float32)})
    return p[:, 0], r[:, 0]


def majority_direction(parts):
    d = np.concatenate([t.direction for t in parts])
    return 1 if (d == 1).sum() >= (d == -1).sum() else -1


def headline(model_bytes, tables, majority):
    out = {}
    for name, table in tables.items():
        p, r = run_onnx(model_bytes, table.x)
        m = common.direction_metrics(table, p, r, majority)
        out[name] = {k: round(m[k], 4) if isinstance(m[k], float) else m[k] for k in (
            "n_windows", "n_effective", "directional_accuracy_moved", "ci95_low", "ci95_high", "baseline_persistence")}
    return common.clean_json(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--builder", required=True, help="path to the dataset-builder binary")
    ap.add_argument("--data", default="model/data")
    ap.add_argument("--artifacts", default="model/artifacts")
    args = ap.parse_args()
    seed_everything()
    data, out = Path(args.data), Path(args.artifacts)
    out.mkdir(parents=True, exist_ok=True)

    spec = common.feature_spec(args.builder)
    names = spec["feature_names"]
    synth = common.Table(data / "synth_train_250ms.csv", names)
    real = common.Table(data / "real_spot_250ms.csv", names)
    synth_test = common.Table(data / "synth_test_2s.csv", names)
    real_2s = common.Table(data / "real_spot_2s.csv", names)

    (s_tr, s_va) = common.time_splits(synth, [0.85, 0.15])
    (r_tr, r_va, r_te) = common.time_splits(real, [0.45, 0.15, 0.40])
    synth_train, synth_val = synth.between(*s_tr), synth.between(*s_va)
    real_train, real_val = real.between(*r_tr), real.between(*r_va)
    real_test_2s = real_2s.between(r_te[0], None)
    print(f"rows: synthetic train {len(synth_train)}, val {len(synth_val)}; real train {len(real_train)}, "
          f"val {len(real_val)}, test (2 s) {len(real_test_2s)}; synthetic test (2 s) {len(synth_test)}")

    train_parts, val_parts = [synth_train, real_train], [synth_val, real_val]
    # One standardisation for both domains (baked into the graph), pooled with equal weight per domain so
    # the 1 000 real rows count as much as the 100 000 synthetic ones for the feature scales.
    mean, inv_std = pooled_standardiser([synth_train.x, real_train.x], names, MODEL_INPUTS)
    stats = [(mean, inv_std), (mean, inv_std)]
    majority = majority_direction(train_parts)

    data_files = {
        "synth_train_250ms": {"source": "synthetic seed 1, 8 h, every 250 ms", "sha256": sha256(synth.path)},
        "real_spot_250ms": {
            "source": "hftbacktest spot btcusdt_20240808.gz + btcusdt_20240809.gz, every 250 ms",
            "sha256": sha256(real.path),
        },
    }
    training_data = {
        "files": data_files,
        "synthetic_split_us": {"train": s_tr, "validation": s_va},
        "real_split_us": {"train": r_tr, "validation": r_va, "test": r_te},
        "real_weight_share": REAL_WEIGHT_SHARE,
        "standardisation": "pooled mean/std over synthetic and real train rows, equal weight per domain",
        "majority_direction": "up" if majority == 1 else "down",
        "flat_threshold_bps": spec["flat_threshold_bps"],
        "horizon_s": spec["horizon_s"],
    }
    created = os.environ.get("MODEL_CREATED_AT") or dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    test_tables = {"synthetic_test": synth_test, "real_spot_test": real_test_2s}

    def save(variant, mean_, inv_std_, clf, reg, extra):
        meta = {
            "feature_names": names,
            "feature_version": str(spec["feature_version"]),
            "model_variant": variant,
            "training_data": {**training_data, **extra},
            "created_at": created,
            "inputs_used": [n for n, s in zip(names, inv_std_) if s != 0],
            "outputs": {"p_up": "P(10 s mid return >= +0.5 bp | |return| >= 0.5 bp), [N,1]",
                        "expected_return": "expected mid(t+10 s)/mid(t) - 1 (fraction), [N,1]"},
        }
        model = export.build_model(len(names), mean_, inv_std_, clf, reg, 1e-4, 0.0, meta, f"btc10s_{variant}")
        meta["metrics"] = headline(model.SerializeToString(), test_tables, majority)
        export.set_metadata(model, meta)
        path = out / ("model.onnx" if variant == "mlp" else f"{variant}.onnx")
        path.write_bytes(model.SerializeToString())
        print(f"wrote {path} ({path.stat().st_size} bytes): {json.dumps(meta['metrics'])}")
        return model.SerializeToString()

    print("fitting MLP (synthetic + real train)")
    clf, reg, alpha = fit_models(train_parts, val_parts, stats)
    xt = transform(real_test_2s.x, mean, inv_std)
    mlp_bytes = save("mlp", mean, inv_std, (clf.coefs_, clf.intercepts_), (reg.coefs_, reg.intercepts_),
                     {"alpha": alpha, "hidden": list(HIDDEN)})
    p_onnx, _ = run_onnx(mlp_bytes, real_test_2s.x)
    diff = float(np.max(np.abs(p_onnx - clf.predict_proba(xt)[:, 1]))) if len(xt) else 0.0
    print(f"ONNX vs scikit-learn max |dp| on real test rows: {diff:.2e}")
    if diff > 1e-4:
        raise SystemExit("exported graph disagrees with the fitted model")

    print("fitting the same MLP on synthetic data only (evaluated on the whole real recording)")
    clf_s, reg_s, alpha_s = fit_models([synth_train], [synth_val], [(mean, inv_std)])
    save("synthetic_only", mean, inv_std, (clf_s.coefs_, clf_s.intercepts_), (reg_s.coefs_, reg_s.intercepts_),
         {"alpha": alpha_s, "hidden": list(HIDDEN),
          "note": "no real labels in training (the shared standardisation uses real-train feature statistics)"})

    print("fitting baseline (logistic + linear on " + ", ".join(BASELINE_INPUTS) + ")")
    b_mean, b_inv, b_clf, b_reg, coefs = fit_baseline(train_parts, names)
    base_bytes = save("baseline", b_mean, b_inv, b_clf, b_reg, {"logistic_coefficients": coefs})

    write_golden(out / "golden.json", names, [synth_test, real_2s], {"model.onnx": mlp_bytes, "baseline.onnx": base_bytes})


def write_golden(path, names, tables, models):
    """Inputs + onnxruntime outputs for the Rust parity test (tract must match within 1e-5)."""
    rng = np.random.default_rng(SEED)
    rows = []
    for t in tables:
        take = rng.choice(len(t), size=min(24, len(t)), replace=False)
        rows.extend(t.x[np.sort(take)].astype(np.float32).tolist())
    rows.append([0.0] * len(names))  # all features cold
    extreme = np.array(rows[0], dtype=np.float32)
    extreme[1:] *= 50.0  # far outside the training range: exercises the clip
    rows.append(extreme.tolist())
    x = np.array(rows, dtype=np.float32)
    golden = {"feature_names": names, "tolerance": 1e-5, "inputs": x.tolist(), "outputs": {}}
    for name, model_bytes in models.items():
        p, r = run_onnx(model_bytes, x)
        golden["outputs"][name] = {"p_up": p.astype(float).tolist(), "expected_return": r.astype(float).tolist()}
    path.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {path} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
