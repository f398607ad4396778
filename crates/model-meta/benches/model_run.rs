//! tract run time of the committed model for one row (the inference hot path's model step).
//!
//! * criterion id `model_run_us` (model.onnx) and `model_run_us/baseline`;
//! * then 20 000 timed runs (after 1 000 warm-up runs) → `{"model_run_us_p99": x}` in
//!   `$CARGO_TARGET_DIR/bench/parts/model.json` (default `<workspace>/target/bench/parts/model.json`).
//!
//! Run: `cargo bench -p model-meta --bench model_run`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use criterion::Criterion;
use model_meta::PredictionModel;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn row() -> Vec<f32> {
    // A realistic warm row: the first golden input (from a held-out synthetic table).
    let text = std::fs::read_to_string(workspace().join("model/artifacts/golden.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["inputs"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn main() {
    let dir = workspace().join("model/artifacts");
    let model = PredictionModel::load(&dir.join("model.onnx")).unwrap();
    let baseline = PredictionModel::load(&dir.join("baseline.onnx")).unwrap();
    let x = row();

    let mut c = Criterion::default().configure_from_args();
    c.bench_function("model_run_us", |b| {
        b.iter(|| model.predict(black_box(&x)).unwrap())
    });
    c.bench_function("model_run_us/baseline", |b| {
        b.iter(|| baseline.predict(black_box(&x)).unwrap())
    });
    c.final_summary();

    for _ in 0..1_000 {
        black_box(model.predict(&x).unwrap());
    }
    let mut ns: Vec<u64> = (0..20_000)
        .map(|_| {
            let t = Instant::now();
            black_box(model.predict(black_box(&x)).unwrap());
            u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX)
        })
        .collect();
    ns.sort_unstable();
    let p99 = pct(&ns, 0.99);
    println!(
        "model_run (model.onnx, 1 row, tract): p50 {:.2} µs, p99 {p99:.2} µs, p99.9 {:.2} µs",
        pct(&ns, 0.5),
        pct(&ns, 0.999)
    );
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace().join("target"), PathBuf::from);
    let parts = target.join("bench/parts");
    std::fs::create_dir_all(&parts).unwrap();
    std::fs::write(
        parts.join("model.json"),
        format!("{{\"model_run_us_p99\": {p99:.3}}}\n"),
    )
    .unwrap();
    println!("wrote {}", parts.join("model.json").display());
}
