//! Model lifecycle: fixtures validate (or are refused) against crates/features; a service with a
//! corrupt or mismatched model stays up in fallback and recovers by hot reload; the variant switch.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use inference::models;
use model_meta::ModelError;
use std::time::Duration;
use svc_kit::testing::servers::RedisServer;

#[test]
fn fixture_feature_list_is_the_one_of_crates_features() {
    let names: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(fixture("feature_names.json")).unwrap()).unwrap();
    assert_eq!(
        names,
        features::FEATURE_NAMES,
        "regenerate: update tests/fixtures/feature_names.json and run make_models.py"
    );
}

#[test]
fn valid_fixtures_load_and_invalid_ones_are_refused_with_the_reason() {
    let ml = models::load(&fixture("ml.onnx"), 0).unwrap();
    assert!(ml.version.starts_with("mlp-"), "{}", ml.version);
    let p = ml.model.predict(&[0.0; features::N_FEATURES]).unwrap();
    assert!(
        (p.p_up - 0.598_687_7).abs() < 1e-5 && (p.expected_return - 4e-5).abs() < 1e-9,
        "{p:?}"
    );
    assert!(models::load(&fixture("baseline.onnx"), 0).is_ok());
    let err = |name: &str| models::load(&fixture(name), 0).unwrap_err();
    assert!(matches!(
        err("wrong_names.onnx"),
        ModelError::FeatureNamesMismatch { index: 1, .. }
    ));
    assert!(matches!(
        err("wrong_version.onnx"),
        ModelError::FeatureVersionMismatch { model: 99, .. }
    ));
    assert!(matches!(
        err("no_metadata.onnx"),
        ModelError::MissingMetadata { .. }
    ));
    assert!(matches!(err("corrupt.onnx"), ModelError::Load { .. }));
}

#[test]
fn corrupt_model_keeps_the_service_up_in_fallback_and_a_hot_reloaded_good_model_recovers() {
    let redis = RedisServer::start().unwrap();
    let _writer = FeatureWriter::start(redis.port);
    let svc = start_service(
        &redis.url(),
        Some("corrupt.onnx"),
        None,
        &[("INFERENCE__TICK__INTERVAL_MS", "500")],
    );
    let p = wait_for(Duration::from_secs(10), "model_unavailable fallback", || {
        let p = svc.latest();
        (p["fallback_reason"] == "model_unavailable").then_some(p)
    });
    assert_eq!(p["served_by"], "fallback");
    let (status, h) = svc.health();
    assert_eq!(status, 200, "{h}");
    assert_eq!(h["status"], "degraded");
    assert_eq!(h["components"]["model_status"]["status"], "unhealthy", "{h}");
    // A mismatched model is refused too; the service keeps falling back.
    svc.install_model("wrong_names.onnx");
    wait_for(Duration::from_secs(10), "refusal of wrong_names", || {
        let (_, m) = get_json(svc.base(), "/v1/model");
        m["ml"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("feature_names"))
            .then_some(())
    });
    assert_eq!(svc.latest()["served_by"], "fallback");
    // A good model is picked up by the mtime poll.
    svc.install_model("ml.onnx");
    wait_for(Duration::from_secs(10), "recovery by hot reload", || {
        (svc.latest()["served_by"] == "ml" && svc.component("model_status") == "healthy").then_some(())
    });
    let metrics = svc.metrics();
    assert!(
        metrics.contains("inference_model_reloads_total{status=\"success\"} 1"),
        "{metrics}"
    );
    // And a later bad file does not replace the serving model.
    svc.install_model("wrong_version.onnx");
    wait_for(Duration::from_secs(10), "degraded after refused reload", || {
        (svc.component("model_status") == "degraded").then_some(())
    });
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(svc.latest()["served_by"], "ml");
}

#[test]
fn nan_model_output_falls_back_with_model_error() {
    let redis = RedisServer::start().unwrap();
    let _writer = FeatureWriter::start(redis.port);
    let svc = start_service(
        &redis.url(),
        Some("nan_output.onnx"),
        None,
        &[("INFERENCE__TICK__INTERVAL_MS", "500")],
    );
    wait_for(Duration::from_secs(10), "model_error fallback", || {
        (svc.latest()["fallback_reason"] == "model_error" && svc.component("model_status") == "degraded")
            .then_some(())
    });
}

#[test]
fn admin_variant_switch_serves_the_baseline_and_back_and_model_endpoint_reports_it() {
    let redis = RedisServer::start().unwrap();
    let _writer = FeatureWriter::start(redis.port);
    // The admin token from a file (as a mounted secret would be).
    let secret = tempfile::tempdir().unwrap();
    let token_file = secret.path().join("admin-token");
    std::fs::write(&token_file, "file-t0ken\n").unwrap();
    let token_path = token_file.display().to_string();
    let svc = start_service(
        &redis.url(),
        Some("ml.onnx"),
        Some("baseline.onnx"),
        &[
            ("INFERENCE__TICK__INTERVAL_MS", "500"),
            ("MODEL_VARIANT", "baseline"),
            ("INFERENCE__ADMIN__TOKEN_FILE", token_path.as_str()),
        ],
    );
    let admin = [
        ("Content-Type", "application/json"),
        ("Authorization", "Bearer file-t0ken"),
    ];
    wait_for(
        Duration::from_secs(10),
        "baseline variant from MODEL_VARIANT",
        || {
            let p = svc.latest();
            (p["served_by"] == "baseline" && p["fallback_reason"] == "baseline_variant").then_some(())
        },
    );
    let (status, body) = http_with(
        svc.base(),
        "POST",
        "/v1/admin/variant",
        &admin,
        r#"{"variant":"ml"}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"previous\":\"baseline\""), "{body}");
    wait_for(Duration::from_secs(10), "ml after the switch", || {
        (svc.latest()["served_by"] == "ml").then_some(())
    });
    let (_, m) = get_json(svc.base(), "/v1/model");
    assert_eq!(m["variant"], "ml");
    assert_eq!(m["ml"]["loaded"], true);
    assert_eq!(m["baseline"]["loaded"], true);
    assert_eq!(m["feature_version"], features::FEATURE_VERSION);
    let (status, _) = http_with(
        svc.base(),
        "POST",
        "/v1/admin/variant",
        &admin,
        r#"{"variant":"gpt"}"#,
    );
    assert_eq!(status, 400);
    let (status, _) = http(svc.base(), "GET", "/v1/admin/variant", "");
    assert_eq!(status, 405);
    wait_for(Duration::from_secs(5), "variant gauge", || {
        svc.metrics()
            .contains("inference_model_variant_active{variant=\"ml\"} 1")
            .then_some(())
    });
}
