"""Evaluates the committed ONNX models (onnxruntime) on held-out data and writes
model/reports/evaluation.json, evaluation.md and PNG plots.

Datasets (all every 2 s, the inference tick):
  * synthetic_test — held-out synthetic run (seed 101, 2 h), never seen in training;
  * real_spot_test — the last 40 % of the real spot recording (after a 20 s gap), never seen in training;
  * real_spot_full_synthetic_only — the whole real recording, scored by the variant trained on synthetic
    data only (so every real window is out of sample);
  * tardis_trades — Binance USD-M perpetual trades 2020-02-22 (trades only: book, quote, OFI, return and
    VWAP features are cold (0), labels use the last trade price instead of the mid).
"""

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402

import common  # noqa: E402
import export  # noqa: E402

NOTES = {
    "synthetic_test": "Held-out synthetic run (seed 101, 2 h). Its only predictable component is a hidden "
    "order-flow pressure the features see noisily; an upper bound on what the network can extract, not a "
    "forecast of real performance.",
    "real_spot_test": "Last 40 % of the 10.8-minute real Binance spot recording (after a 20 s purge gap); "
    "never used for training or model selection. Only a few minutes of one market regime: the confidence "
    "intervals are wide and the effective number of independent 10 s windows is small.",
    "real_spot_full_synthetic_only": "All 2-s windows of the real recording, scored by the same network "
    "trained on synthetic data only (no real labels), so every window is out of sample. Includes the first "
    "minute, where long-window features are still cold. The baseline.onnx column is left out here because "
    "that model was fitted on the first 45 % of this recording.",
    "tardis_trades": "Binance USD-M perpetual, 2020-02-22, trades only. Evaluable: trade-flow features "
    "(tfi_*, log_volume_*, trade_rate_10s, time_since_last_trade_s; of these the network only uses tfi_*) "
    "and labels from the last trade price. "
    "Not evaluable: every book, quote, OFI, mid-return, volatility and VWAP feature (cold = 0, as the "
    "service would see them), so this measures the model far outside its training distribution; the "
    "persistence baseline uses the trade-price change over the previous 10 s.",
}


def load_model(path):
    model = onnx.load(str(path))
    meta = {p.key: p.value for p in model.metadata_props}
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess, meta


def predict(sess, x):
    if len(x) == 0:
        return np.zeros(0), np.zeros(0)
    p, r = sess.run([export.OUT_P_UP, export.OUT_RETURN], {export.INPUT: x.astype(np.float32)})
    return p[:, 0].astype(np.float64), r[:, 0].astype(np.float64)


def fmt(v, pct=False):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "n/a"
    if pct:
        return f"{100 * v:.1f} %"
    if isinstance(v, int):
        return str(v)
    return f"{v:.4g}"


def plot_calibration(results, path):
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect")
    for name, r in results.items():
        pts = r["_calibration"]
        if pts:
            xs, ys, ns = zip(*pts)
            ax.plot(xs, ys, "o-", label=f"{name} (ECE {fmt(r['ece'])})")
    ax.set_xlabel("predicted P(up)")
    ax.set_ylabel("observed share up (moved windows)")
    ax.set_title("Calibration (bins with >= 5 windows)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_returns(results, path):
    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 4))
    for ax, (name, r) in zip(np.atleast_1d(axes), results.items()):
        pred, real = r["_pred_bps"], r["_real_bps"]
        ax.scatter(pred, real, s=4, alpha=0.4)
        lim = max(1e-3, np.percentile(np.abs(real), 99) if len(real) else 1)
        ax.axhline(0, color="k", lw=0.5)
        ax.axvline(0, color="k", lw=0.5)
        ax.set_ylim(-lim, lim)
        ax.set_title(f"{name}\ncorr {fmt(r['correlation'])}", fontsize=9)
        ax.set_xlabel("predicted 10 s return (bp)")
        ax.set_ylabel("realized 10 s return (bp)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_markdown(results, meta, path):
    cols = [
        ("n_windows", "windows", False),
        ("n_effective", "indep. 10 s", False),
        ("n_moved", "moved", False),
        ("directional_accuracy_moved", "accuracy (moved)", True),
        ("ci95_low", "95 % CI low", True),
        ("ci95_high", "95 % CI high", True),
        ("baseline_persistence", "persistence", True),
        ("baseline_majority", "majority", True),
        ("baseline_model_accuracy_moved", "baseline.onnx", True),
        ("mae_usd", "MAE USD", False),
        ("baseline_zero_mae_usd", "MAE USD (zero)", False),
        ("correlation", "corr", False),
        ("ece", "ECE", False),
    ]
    lines = [
        "# Model evaluation (10 s BTCUSDT mid direction and return)",
        "",
        f"Model: `model/artifacts/model.onnx` (variant `{meta.get('model_variant')}`, feature_version "
        f"{meta.get('feature_version')}, created {meta.get('created_at')}). Generated by `model/evaluate.py`; "
        "numbers from onnxruntime on tables built by `dataset-builder` every 2 s.",
        "",
        "Accuracy is on *moved* windows (|10 s return| >= 0.5 bp), predicting up when p_up >= 0.5. "
        "CI = 95 % Wilson interval on the moved windows, which treats overlapping 10 s windows as independent "
        "and is therefore too narrow; `ci95_*_effective` in the JSON shrinks n to the non-overlapping "
        "windows. Persistence predicts the direction of the previous 10 s (majority when unchanged); majority "
        "always predicts the training set's majority direction; MAE (zero) is the zero-return baseline.",
        "",
        "| dataset | " + " | ".join(c[1] for c in cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | " + " | ".join(fmt(r.get(k), pct) for k, _, pct in cols) + " |")
    lines += ["", "Effective-n 95 % CI of the model's accuracy:", ""]
    for name, r in results.items():
        lines.append(f"- {name}: {fmt(r['ci95_low_effective'], True)} – {fmt(r['ci95_high_effective'], True)} "
                     f"({r['n_effective']} non-overlapping windows)")
    lines += ["", "## Notes per dataset", ""]
    for name in results:
        lines.append(f"- **{name}**: {NOTES[name]}")
    lines += ["", "Plots: `calibration.png` (reliability of p_up), `pred_vs_realized.png` (expected vs realized "
              "10 s return).", ""]
    path.write_text("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--builder", required=True)
    ap.add_argument("--data", default="model/data")
    ap.add_argument("--artifacts", default="model/artifacts")
    ap.add_argument("--reports", default="model/reports")
    args = ap.parse_args()
    data, art, rep = Path(args.data), Path(args.artifacts), Path(args.reports)
    rep.mkdir(parents=True, exist_ok=True)
    names = common.feature_spec(args.builder)["feature_names"]

    model, meta = load_model(art / "model.onnx")
    baseline, _ = load_model(art / "baseline.onnx")
    synth_only, _ = load_model(art / "synthetic_only.onnx")
    training = json.loads(meta["training_data"])
    majority = 1 if training["majority_direction"] == "up" else -1
    test_start = training["real_split_us"]["test"][0]

    real = common.Table(data / "real_spot_2s.csv", names)
    sets = {
        "synthetic_test": (common.Table(data / "synth_test_2s.csv", names), model),
        "real_spot_test": (real.between(test_start, None), model),
        "real_spot_full_synthetic_only": (real, synth_only),
    }
    tardis_path = data / "tardis_trades_2s.csv"
    if tardis_path.exists():
        sets["tardis_trades"] = (common.Table(tardis_path, names), model)
    else:
        print(f"SKIP tardis_trades: {tardis_path} not built (trades.csv absent)")

    results = {}
    for name, (table, sess) in sets.items():
        p, r = predict(sess, table.x)
        m = common.direction_metrics(table, p, r, majority)
        bp, br = predict(baseline, table.x)
        b = common.direction_metrics(table, bp, br, majority)
        # baseline.onnx was fitted on the first 45 % of the real recording: not out of sample on the full set.
        in_sample = name == "real_spot_full_synthetic_only"
        m["baseline_model_accuracy_moved"] = None if in_sample else b["directional_accuracy_moved"]
        m["baseline_model_mae_usd"] = None if in_sample else b["mae_usd"]
        m["baseline_model_correlation"] = None if in_sample else b["correlation"]
        m["first_time_us"] = int(table.time_us.min()) if len(table) else None
        m["last_time_us"] = int(table.time_us.max()) if len(table) else None
        m["mean_completeness"] = float(table.completeness.mean()) if len(table) else None
        m["note"] = NOTES[name]
        moved = table.direction != 0
        m["_calibration"] = common.calibration_curve(p[moved], (table.direction[moved] == 1).astype(float))
        m["_pred_bps"], m["_real_bps"] = r * 1e4, table.ret * 1e4
        results[name] = m
        print(f"{name}: n={m['n_windows']} eff={m['n_effective']} moved={m['n_moved']} "
              f"acc={fmt(m['directional_accuracy_moved'], True)} [{fmt(m['ci95_low'], True)}, {fmt(m['ci95_high'], True)}] "
              f"persistence={fmt(m['baseline_persistence'], True)} majority={fmt(m['baseline_majority'], True)} "
              f"baseline.onnx={fmt(m['baseline_model_accuracy_moved'], True)} mae=${fmt(m['mae_usd'])} "
              f"(zero ${fmt(m['baseline_zero_mae_usd'])}) corr={fmt(m['correlation'])} ece={fmt(m['ece'])}")

    plot_calibration(results, rep / "calibration.png")
    plot_returns(results, rep / "pred_vs_realized.png")
    public = {
        name: {k: v for k, v in r.items() if not k.startswith("_")} | {"calibration_curve": r["_calibration"]}
        for name, r in results.items()
    }
    report = {
        "model": {k: meta.get(k) for k in ("model_variant", "feature_version", "created_at")},
        "flat_threshold_bps": training["flat_threshold_bps"],
        "horizon_s": training["horizon_s"],
        "datasets": public,
    }
    (rep / "evaluation.json").write_text(json.dumps(common.clean_json(report), indent=2, sort_keys=True) + "\n")
    write_markdown(results, meta, rep / "evaluation.md")
    print(f"wrote {rep / 'evaluation.json'}, {rep / 'evaluation.md'}, calibration.png, pred_vs_realized.png")


if __name__ == "__main__":
    main()
