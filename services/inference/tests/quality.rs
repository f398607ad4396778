//! Issue 17 item 2 (champion side) on the running service: every scored prediction is counted under
//! `model="champion"`, and the live accuracy / log-loss / Brier / calibration error equal what the
//! served `p_up` implies on the test writer's steadily rising mid.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::time::Duration;
use svc_kit::testing::servers::RedisServer;

#[test]
fn live_quality_of_the_champion_is_scored_against_the_realised_direction() {
    let redis = RedisServer::start().unwrap();
    // Mid +0.5 USD per 200 ms: every 10 s window moves up by ~4 bp (a moved window).
    let _writer = FeatureWriter::start(redis.port);
    let svc = start_ticking(&redis.url(), 200, &[]);
    let champion = |name: &str| svc.metric(&format!("{name}{{model=\"champion\"}}"));
    assert!(
        champion("inference_model_live_accuracy").is_nan(),
        "no score before 30 moved windows"
    );
    wait_for(Duration::from_secs(40), "30 moved windows scored", || {
        (champion("inference_model_live_moved_windows") >= 30.0).then_some(())
    });
    let p = svc.latest()["p_up"].as_f64().unwrap();
    assert!(p > 0.5, "the fixture model says up: {p}");
    assert!(champion("inference_model_scored_predictions_total") >= 30.0);
    assert_eq!(champion("inference_model_live_accuracy"), 1.0);
    let close = |name: &str, want: f64| {
        let got = champion(name);
        assert!((got - want).abs() < 1e-6, "{name}: {got} vs {want}");
    };
    close("inference_model_live_log_loss", -p.ln());
    close("inference_model_live_brier", (1.0 - p) * (1.0 - p));
    close("inference_model_live_calibration_error", 1.0 - p);
    // No challenger runs yet: its series exist and stay unknown.
    assert!(
        svc.metric(r#"inference_model_live_accuracy{model="challenger"}"#)
            .is_nan()
    );
    assert_eq!(
        svc.metric(r#"inference_model_scored_predictions_total{model="challenger"}"#),
        0.0
    );
}
