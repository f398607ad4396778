//! Issue 17 item 1 on the running service: the challenger runs in shadow on every usable tick,
//! publishes to `{S}:predictions:challenger` (never to the champion's stream), and its live scores
//! equal an offline scoring of what the two streams hold: each challenger prediction against the mid
//! of the champion's first usable prediction 10 s later.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use inference::quality;
use inference::tick::LIVE_MIN_MOVED;
use std::time::Duration;
use svc_kit::testing::servers::RedisServer;

const INTERVAL_US: i64 = 200_000;
const HORIZON_US: i64 = 10_000_000;

#[test]
fn shadow_scoring_equals_offline_scoring_of_the_same_vectors() {
    let redis = RedisServer::start().unwrap();
    let writer = FeatureWriter::start(redis.port);
    let challenger_dir = tempfile::tempdir().unwrap();
    let challenger = challenger_dir.path().join("challenger.onnx");
    // The baseline fixture (p_up < 0.5) as challenger of the ML fixture (p_up > 0.5).
    std::fs::copy(fixture("baseline.onnx"), &challenger).unwrap();
    let path = challenger.display().to_string();
    let svc = start_ticking(
        &redis.url(),
        200,
        &[("INFERENCE__LIFECYCLE__CHALLENGER_PATH", path.as_str())],
    );
    let metric = |name: &str, role: &str| svc.metric(&format!("{name}{{model=\"{role}\"}}"));
    wait_for(Duration::from_secs(40), "30 challenger moved windows", || {
        (metric("inference_model_live_moved_windows", "challenger") >= LIVE_MIN_MOVED as f64).then_some(())
    });
    // Freeze: without fresh features nothing new runs or scores; wait until the newest challenger
    // prediction's horizon (plus the scoring grace) has passed.
    writer.set(Mode::Paused);
    let key = "{BTCUSDT}:predictions:challenger";
    wait_for(
        Duration::from_secs(30),
        "the last challenger horizon passed",
        || {
            let last = stream_json(redis.port, key).last()?["tick_time_us"].as_i64()?;
            (now_us() > last + HORIZON_US + 4 * INTERVAL_US).then_some(())
        },
    );
    let shadow = stream_json(redis.port, key);
    let champion = stream_json(redis.port, "{BTCUSDT}:predictions");
    assert!(
        champion.iter().all(|p| p.get("role").is_none()),
        "no challenger prediction in the champion's stream"
    );
    let version = shadow[0]["model_version"].as_str().unwrap().to_string();
    assert!(version.starts_with("baseline-"), "{version}");
    assert!(shadow.iter().all(|p| p["role"] == "challenger"));
    assert_ne!(
        shadow[0]["champion_version"], shadow[0]["model_version"],
        "the champion's version is recorded beside the challenger's"
    );
    // Offline: the realised mid of a prediction at t is the mid of the first champion tick at or
    // after t + 10 s, if that tick had usable features (no fallback) and came within the grace.
    let pairs: Vec<(f64, f64)> = shadow
        .iter()
        .filter_map(|p| {
            let t = p["tick_time_us"].as_i64().unwrap();
            let later = champion
                .iter()
                .find(|c| c["tick_time_us"].as_i64().unwrap() >= t + HORIZON_US)?;
            let lt = later["tick_time_us"].as_i64().unwrap();
            if !later["fallback_reason"].is_null() || lt - (t + HORIZON_US) > 2 * INTERVAL_US {
                return None;
            }
            let real = later["mid"].as_f64()?;
            Some((
                p["p_up"].as_f64().unwrap(),
                real / p["mid"].as_f64().unwrap() - 1.0,
            ))
        })
        .collect();
    let offline = quality::quality(pairs.iter().copied(), LIVE_MIN_MOVED);
    eprintln!(
        "challenger predictions {}, offline {offline:?}, live scored {}",
        shadow.len(),
        metric("inference_model_scored_predictions_total", "challenger")
    );
    assert!(offline.moved >= LIVE_MIN_MOVED, "{offline:?}");
    assert_eq!(
        metric("inference_model_scored_predictions_total", "challenger"),
        offline.scored as f64
    );
    assert_eq!(
        metric("inference_model_live_moved_windows", "challenger"),
        offline.moved as f64
    );
    let close = |name: &str, want: Option<f64>| {
        let got = metric(name, "challenger");
        let want = want.unwrap();
        assert!((got - want).abs() < 1e-9, "{name}: live {got} vs offline {want}");
    };
    close("inference_model_live_accuracy", offline.accuracy);
    close("inference_model_live_log_loss", offline.log_loss);
    close("inference_model_live_brier", offline.brier);
    close(
        "inference_model_live_calibration_error",
        offline.calibration_error,
    );
    // The challenger (down on a rising mid) scores worse than the champion, as its own series.
    assert_eq!(metric("inference_model_live_accuracy", "challenger"), 0.0);
    assert_eq!(metric("inference_model_live_accuracy", "champion"), 1.0);
    assert_eq!(
        svc.metric(r#"inference_challenger_runs_total{outcome="published"}"#),
        shadow.len() as f64
    );
    // `/v1/model` reports both roles.
    let (_, m) = get_json(svc.base(), "/v1/model");
    assert_eq!(m["challenger"]["version"], version.as_str());
    assert_eq!(m["challenger"]["live"]["moved"], offline.moved);
    assert_eq!(m["champion"]["role"], "champion");
    assert!(m["champion"]["live"]["log_loss"].as_f64().unwrap() < offline.log_loss.unwrap());
}

#[test]
fn a_failing_challenger_is_counted_and_never_touches_the_champion() {
    let redis = RedisServer::start().unwrap();
    let _writer = FeatureWriter::start(redis.port);
    let challenger_dir = tempfile::tempdir().unwrap();
    let challenger = challenger_dir.path().join("challenger.onnx");
    // Loads fine (valid metadata), but its expected_return is NaN on every run.
    std::fs::copy(fixture("nan_output.onnx"), &challenger).unwrap();
    let path = challenger.display().to_string();
    let svc = start_ticking(
        &redis.url(),
        200,
        &[("INFERENCE__LIFECYCLE__CHALLENGER_PATH", path.as_str())],
    );
    let failed = r#"inference_challenger_runs_total{outcome="model_error"}"#;
    wait_for(Duration::from_secs(20), "10 failed challenger runs", || {
        (svc.metric(failed) >= 10.0).then_some(())
    });
    let latest = svc.latest();
    assert_eq!(latest["served_by"], "ml", "{latest}");
    assert!(latest["fallback_reason"].is_null(), "{latest}");
    assert_eq!(
        svc.metric(r#"inference_errors_total{error_type="internal",stage="model"}"#),
        0.0,
        "the challenger's failures are not the champion's model errors"
    );
    assert_eq!(
        svc.metric(r#"inference_challenger_runs_total{outcome="published"}"#),
        0.0
    );
    assert!(stream_json(redis.port, "{BTCUSDT}:predictions:challenger").is_empty());
    assert_eq!(
        svc.metric(r#"inference_model_scored_predictions_total{model="challenger"}"#),
        0.0
    );
    // Retired by deleting the file: the slot empties, runs stop.
    std::fs::remove_file(&challenger).unwrap();
    wait_for(Duration::from_secs(10), "the challenger slot empty", || {
        get_json(svc.base(), "/v1/model").1["challenger"]["version"]
            .is_null()
            .then_some(())
    });
    // A tick in flight may still have run it: count from the next one.
    let t0 = svc.latest()["tick_time_us"].as_i64().unwrap();
    wait_for(Duration::from_secs(5), "the next tick", || {
        (svc.latest()["tick_time_us"].as_i64().unwrap() > t0).then_some(())
    });
    let after = svc.metric(failed);
    let t = svc.latest()["tick_time_us"].as_i64().unwrap();
    wait_for(Duration::from_secs(5), "five more ticks", || {
        (svc.latest()["tick_time_us"].as_i64().unwrap() >= t + 5 * INTERVAL_US).then_some(())
    });
    assert_eq!(svc.metric(failed), after, "no run without a challenger");
    assert!(
        get_json(svc.base(), "/v1/model").1["challenger"]["slot"]["last_error"].is_null(),
        "a removed challenger is not an error"
    );
}
