"""Runs the protocol of docs/model.md on every real dataset for every candidate family, picks the served model
by the fixed rule, refits it on all real data and exports model.onnx (the pick), baseline.onnx (the calibrated
level-1 imbalance model, the rollback) and golden.json for the Rust tract parity test.

Usage (see train.sh, which builds the tables first):
    python model/train.py --builder <dataset-builder> --data model/data --artifacts model/artifacts \
        --reports model/reports
"""

import argparse
import datetime as dt
import hashlib
import json
import os
import random
from pathlib import Path

import numpy as np
import onnxruntime as ort

import common
import export
import families
import protocol

SEED = 20240809

# name -> (csv file, pooled, source description). The synthetic market is not here: never used for selection.
DATASETS = {
    "spot": ("real_spot_250ms.csv", True,
             "hftbacktest Binance spot BTCUSDT 2024-08-08 23:54 -> 08-09 00:05 (stream + snapshot)"),
    "usdm": ("real_usdm_250ms.csv", True,
             "hftbacktest Binance USD-M BTCUSDT 2024-08-08 23:54 -> 23:59 (depth@0ms chained on pu)"),
    "depth10": ("real_depth10_250ms.csv", True,
                "rlmm/Kaggle BTCUSDT perpetual 10-level snapshots 2023-01-09 22:17 -> 23:59 (no trades)"),
    "tardis_trades": ("tardis_trades_250ms.csv", False,
                      "Tardis Binance USD-M trades 2020-02-22 (no book: book features cold, labels on last trade)"),
    "archive": ("archive_250ms.csv", True,
                "the pipeline's own history: dataset-builder --archive $ARCHIVE_DIR (built only when it is set)"),
}
# Pooled datasets that may be absent (built only on request).
OPTIONAL = {"archive"}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_datasets(data, names, log=print):
    out = []
    for name, (file, pooled, source) in DATASETS.items():
        path = data / file
        if not path.exists():
            if pooled and name not in OPTIONAL:
                raise SystemExit(f"{path} missing: run model/datasets.sh first")
            log(f"SKIP {name}: {path} not built")
            continue
        ds = protocol.Dataset(name, common.Table(path, names), pooled=pooled, note=source)
        if name in OPTIONAL and not protocol.folds(ds):
            log(f"SKIP {name}: {path} spans {(ds.t1 - ds.t0) / 1e6:.0f} s, too short for one walk-forward test "
                f"block (its first {protocol.MIN_FIRST_TRAIN_US / 1e6:.0f} s only train); record longer")
            continue
        ds.path, ds.source = path, source
        out.append(ds)
    return out


def select(pooled_points):
    """The fixed rule: lowest pooled log-loss among candidates at least as good as the imbalance rule on both
    pooled accuracy and log-loss; else the calibrated imbalance model."""
    eligible = []
    for name, f in pooled_points.items():
        rule = f["baselines"]["imbalance_rule"]
        ok = f["accuracy_moved"] >= rule["accuracy_moved"] and f["log_loss"] <= rule["log_loss"]
        eligible.append((not ok, f["log_loss"], name))
    eligible.sort()
    fallback = not any(not bad for bad, _, _ in eligible)
    return ("imbalance_logistic" if fallback else eligible[0][2]), fallback


def run_onnx(model_bytes, x):
    sess = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    p, r = sess.run([export.OUT_P_UP, export.OUT_RETURN], {export.INPUT: x.astype(np.float32)})
    return p[:, 0].astype(np.float64), r[:, 0].astype(np.float64)


def graph_parts(fam, fitted, names, zero_return):
    """Standardisation (identity on the used inputs, 0 elsewhere) and classifier layers over all features."""
    n = len(names)
    mean = np.zeros(n, np.float32)
    inv_std = np.zeros(n, np.float32)
    inv_std[fam.cols] = 1.0
    coefs, ints = fam.layers(fitted)
    first = np.zeros((n, coefs[0].shape[1]))
    first[fam.cols, :] = coefs[0]
    k = 0.0 if zero_return else fitted["k_bps"] * 1e-4
    return mean, inv_std, ([first, *coefs[1:]], ints), k


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--builder", required=True, help="path to the dataset-builder binary")
    ap.add_argument("--data", default="model/data")
    ap.add_argument("--artifacts", default="model/artifacts")
    ap.add_argument("--reports", default="model/reports")
    args = ap.parse_args()
    random.seed(SEED)
    np.random.seed(SEED)
    data, out, rep = Path(args.data), Path(args.artifacts), Path(args.reports)
    out.mkdir(parents=True, exist_ok=True)
    rep.mkdir(parents=True, exist_ok=True)
    spec = common.feature_spec(args.builder)
    names = spec["feature_names"]
    datasets = load_datasets(data, names)
    pooled_ds = [d for d in datasets if d.pooled]
    cands = families.candidates(names)

    print("walk-forward over", ", ".join(f"{d.name} ({len(d.table)} rows)" for d in datasets))
    oos = protocol.walk_forward(datasets, names, cands)
    pooled = protocol.concat_oos([oos[d.name] for d in pooled_ds])
    points = {}
    for c in cands:
        f = pooled.figures(c, protocol.BASELINES, boot=False)
        points[c] = f
        rule = f["baselines"]["imbalance_rule"]
        print(f"  {c}: pooled acc {f['accuracy_moved']:.4f} (rule {rule['accuracy_moved']:.4f}), "
              f"log-loss {f['log_loss']:.4f} (rule {rule['log_loss']:.4f}), auc {f['auc']:.4f}, "
              f"mae ${f['mae_usd']:.3f} (zero ${f['mae_usd_zero']:.3f})")
    chosen, fallback = select(points)
    zero_return = not (points[chosen]["mae_usd"] < points[chosen]["mae_usd_zero"])
    print(f"served: {chosen}{' (fallback: nothing beat the imbalance rule)' if fallback else ''}; "
          f"expected return: {'zero (shrunk estimator did not beat zero MAE out of sample)' if zero_return else 'shrunk'}")
    base_zero = not (points["imbalance_logistic"]["mae_usd"] < points["imbalance_logistic"]["mae_usd_zero"])
    selection = {
        "rule": "lowest pooled OOS log-loss among candidates with pooled accuracy >= and log-loss <= the "
                "imbalance rule's; else the calibrated imbalance model",
        "candidates": {c: {k: points[c][k] for k in ("accuracy_moved", "balanced_accuracy", "auc", "log_loss",
                                                      "brier", "ece", "mae_usd", "mae_usd_zero")}
                       | {"inputs": cands[c].inputs, "kind": cands[c].kind} for c in cands},
        "imbalance_rule": {k: points[chosen]["baselines"]["imbalance_rule"][k]
                           for k in ("accuracy_moved", "log_loss")},
        "chosen": chosen,
        "fallback_to_imbalance_model": fallback,
        "expected_return_zero": zero_return,
        "n_windows": points[chosen]["n_windows"],
        "n_moved": points[chosen]["n_moved"],
    }
    (rep / "selection.json").write_text(json.dumps(common.clean_json(selection), indent=2, sort_keys=True) + "\n")

    # Final fits on every pooled real row.
    x, t, d, r = protocol.stack([ds.table for ds in pooled_ds], names)
    created = os.environ.get("MODEL_CREATED_AT") or dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    training_data = {
        "files": {ds.name: {"file": ds.path.name, "source": ds.source, "sha256": sha256(ds.path),
                            "pooled": ds.pooled} for ds in datasets},
        "fit_on": "every row of the pooled real datasets (" + ", ".join(d.name for d in pooled_ds) + ")",
        "protocol": "docs/model.md#evaluation-protocol-fixed-before-training-issue-16",
        "candidates": list(cands),
        "flat_threshold_bps": spec["flat_threshold_bps"],
        "horizon_s": spec["horizon_s"],
        "synthetic_used": False,
    }

    # Per-feature training quantile bins: the inference service's live drift (PSI) reference.
    distribution = export.feature_distribution(x, names)

    def save(variant, file, fam, zero):
        fitted = fam.fit(x, d, r, t)
        mean, inv_std, clf, k = graph_parts(fam, fitted, names, zero)
        f = points[fam.name]
        meta = {
            "feature_names": names,
            "feature_version": str(spec["feature_version"]),
            "model_variant": variant,
            "training_data": training_data | {
                "family": fam.name, "kind": fam.kind, "inputs": fam.inputs,
                "platt": {"a": fitted["a"], "b": fitted["b"]},
                "expected_return": "zero" if zero else f"{fitted['k_bps'] * 1e-4:.6g} * (2 p_up - 1)",
            },
            "created_at": created,
            "feature_distribution": distribution,
            "inputs_used": fam.inputs,
            "outputs": {"p_up": "P(10 s mid return >= +0.5 bp | |return| >= 0.5 bp), [N,1]",
                        "expected_return": "expected mid(t+10 s)/mid(t) - 1 (fraction), [N,1]"},
            "metrics": common.clean_json({
                "pooled_out_of_sample": {k: round(f[k], 4) for k in ("accuracy_moved", "log_loss", "auc")}
                | {"n_windows": f["n_windows"], "n_moved": f["n_moved"],
                   "imbalance_rule_accuracy": round(f["baselines"]["imbalance_rule"]["accuracy_moved"], 4)},
            }),
        }
        model = export.build_model(len(names), mean, inv_std, clf, None, 2 * k, -k, meta, f"btc10s_{fam.name}")
        blob = model.SerializeToString()
        p_onnx, r_onnx = run_onnx(blob, x)
        p_py, r_py = fam.predict(fitted, x) if not zero else fam.predict_zero_return(fitted, x)
        diff = max(float(np.max(np.abs(p_onnx - p_py))), float(np.max(np.abs(r_onnx - r_py))) * 1e4)
        print(f"{file}: {fam.name}, platt a={fitted['a']:.4f} b={fitted['b']:.4f}, "
              f"ONNX vs numpy max diff {diff:.2e}")
        if diff > 1e-4:
            raise SystemExit("exported graph disagrees with the fitted model")
        (out / file).write_bytes(blob)
        return blob

    model_blob = save(chosen, "model.onnx", cands[chosen], zero_return)
    base_blob = save("baseline", "baseline.onnx", cands["imbalance_logistic"], base_zero)
    old = out / "synthetic_only.onnx"
    if old.exists():
        old.unlink()
    write_golden(out / "golden.json", names, [ds.table for ds in pooled_ds],
                 {"model.onnx": model_blob, "baseline.onnx": base_blob})


def write_golden(path, names, tables, models):
    """Inputs + onnxruntime outputs for the Rust parity test (tract must match within 1e-5)."""
    rng = np.random.default_rng(SEED)
    rows = []
    for t in tables:
        take = rng.choice(len(t), size=min(16, len(t)), replace=False)
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
