//! Market-time freshness against a real Redis (issue 14 item 2): features computed just now about
//! a market long past (a backlog replay, the end of an exchange stall whose clock lags) must not
//! feed the model; neither must a hash restored from an old Redis state, nor an event time far in
//! the future. Every prediction carries its market age.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::time::Duration;
use svc_kit::testing::servers::RedisServer;

fn wait_reason(svc: &Service, what: &str, served_by: &str, reason: Option<&str>) -> serde_json::Value {
    wait_for(Duration::from_secs(10), what, || {
        let p = svc.latest();
        let r = p["fallback_reason"].as_str();
        (p["served_by"] == served_by && r == reason).then_some(p)
    })
}

#[test]
fn predictions_on_an_old_market_fall_back_with_a_bounded_reason_and_carry_the_market_age() {
    let redis = RedisServer::start().unwrap();
    let writer = FeatureWriter::start(redis.port);
    let svc = start_ticking(&redis.url(), 200, &[]);
    let p = wait_reason(&svc, "ml on fresh features", "ml", None);
    assert!(p["market_age_ms"].as_f64().unwrap() < 1_000.0, "{p}");

    // Backlog replay / after a stall: computed now, the newest exchange event 30 s old.
    writer.set(Mode::MarketLag);
    let p = wait_reason(&svc, "market_stale", "fallback", Some("market_stale"));
    let age = p["market_age_ms"].as_f64().unwrap();
    assert!((29_000.0..35_000.0).contains(&age), "market age {age} ms: {p}");
    assert!(
        p["feature_age_ms"].as_f64().unwrap() < 1_000.0,
        "freshly computed: {p}"
    );
    assert_eq!(svc.component("feature_pipeline"), "stale");

    // The market is current again: the model serves again.
    writer.set(Mode::Fresh);
    wait_reason(&svc, "ml again", "ml", None);

    // Redis restored from a 10-minute-old state: stale by compute time already.
    writer.set(Mode::Restored);
    let p = wait_reason(&svc, "stale_features", "fallback", Some("stale_features"));
    assert!(p["market_age_ms"].as_f64().unwrap() > 590_000.0, "{p}");

    // An event time beyond the clock-skew allowance.
    writer.set(Mode::ClockAhead);
    let p = wait_reason(&svc, "clock_skew", "fallback", Some("clock_skew"));
    assert!(p["market_age_ms"].as_f64().unwrap() < -9_000.0, "{p}");

    let m = |reason: &str| {
        svc.metric(&format!(
            "inference_fallback_predictions_total{{reason=\"{reason}\"}}"
        ))
    };
    assert!(m("market_stale") >= 1.0 && m("clock_skew") >= 1.0 && m("stale_features") >= 1.0);
    // The market age histogram saw the 30 s and 10 min ages.
    assert!(svc.metric("inference_market_age_seconds_count") >= 3.0);
    let below_30 = svc.metric("inference_market_age_seconds_bucket{le=\"30.0\"}");
    let below_120 = svc.metric("inference_market_age_seconds_bucket{le=\"120.0\"}");
    let all = svc.metric("inference_market_age_seconds_count");
    assert!(
        all > below_120 && below_120 > below_30,
        "{below_30} {below_120} {all}"
    );
}

#[test]
fn market_time_check_can_be_disabled_for_replays_of_old_recordings() {
    let redis = RedisServer::start().unwrap();
    let writer = FeatureWriter::start(redis.port);
    writer.set(Mode::MarketLag);
    let svc = start_ticking(&redis.url(), 200, &[("INFERENCE__TICK__MAX_MARKET_AGE_MS", "0")]);
    let p = wait_reason(&svc, "ml with the market check off", "ml", None);
    assert!(p["market_age_ms"].as_f64().unwrap() > 29_000.0, "{p}");
}
