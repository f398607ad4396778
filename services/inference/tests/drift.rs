//! Issue 17 item 4 on the running service: with the committed model (which carries its training
//! distribution), live vectors fill the drift window and `inference_feature_drift_psi{feature}` is
//! exported per contract feature; a model without the metadata exports no PSI (NaN).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::path::Path;
use std::time::Duration;
use svc_kit::testing::servers::RedisServer;

fn committed_model() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../model/artifacts/model.onnx")
        .display()
        .to_string()
}

fn psi_lines(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| l.starts_with("inference_feature_drift_psi{"))
        .map(|l| {
            let feature = l.split('"').nth(1).unwrap().to_string();
            let v = l.rsplit(' ').next().unwrap().parse::<f64>().unwrap();
            (feature, v)
        })
        .collect()
}

#[test]
fn live_vectors_give_a_psi_per_feature_against_the_committed_models_training_distribution() {
    let redis = RedisServer::start().unwrap();
    // The test writer's vector is constant (every feature 0 but the mid): a population pinned in
    // one bin, far from the training deciles for the continuous features.
    let _writer = FeatureWriter::start(redis.port);
    let svc = start_service(
        &redis.url(),
        Some(&committed_model()),
        Some("baseline.onnx"),
        &[
            ("INFERENCE__TICK__INTERVAL_MS", "100"),
            ("INFERENCE__TICK__REDIS_TIMEOUT_MS", "50"),
        ],
    );
    let before = psi_lines(&svc.metrics());
    assert_eq!(
        before.len(),
        27,
        "one series per scale-free contract feature: {before:?}"
    );
    assert!(
        before.iter().all(|(_, v)| v.is_nan()),
        "no PSI before 150 vectors: {before:?}"
    );
    assert!(!svc.metrics().contains(r#"feature="mid_price""#));
    wait_for(
        Duration::from_secs(40),
        "150 live vectors in the drift window",
        || (svc.metric("inference_feature_drift_window_vectors") >= 150.0).then_some(()),
    );
    let psi = psi_lines(&svc.metrics());
    let get = |name: &str| psi.iter().find(|(f, _)| f == name).unwrap().1;
    assert!(psi.iter().all(|(_, v)| v.is_finite() && *v >= 0.0), "{psi:?}");
    // Continuous deciles (10 % each), live all in one bin: far above the critical threshold.
    assert!(get("book_imbalance_1") > 0.5, "{psi:?}");
    assert!(get("ofi_1s") > 0.5, "{psi:?}");
    eprintln!("PSI on a pinned live vector: {psi:?}");
}

#[test]
fn a_model_without_a_training_distribution_exports_no_psi() {
    let redis = RedisServer::start().unwrap();
    let _writer = FeatureWriter::start(redis.port);
    let svc = start_ticking(&redis.url(), 100, &[]);
    wait_for(Duration::from_secs(10), "ten predictions", || {
        (svc.metric("inference_predictions_total") >= 10.0).then_some(())
    });
    assert_eq!(svc.metric("inference_feature_drift_window_vectors"), 0.0);
    let psi = psi_lines(&svc.metrics());
    assert_eq!(psi.len(), 27);
    assert!(psi.iter().all(|(_, v)| v.is_nan()), "{psi:?}");
}
