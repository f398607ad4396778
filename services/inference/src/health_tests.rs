use super::*;
use crate::contract::{AnchorState, synced_snapshot};

fn slot(loaded: bool, err: Option<&str>) -> SlotStatus {
    SlotStatus {
        path: "m.onnx".into(),
        loaded,
        version: loaded.then(|| "mlp-1234abcd".into()),
        created_at: None,
        feature_version: None,
        n_features: None,
        loaded_at_us: None,
        last_error: err.map(str::to_string),
    }
}

#[test]
fn loaded_model_without_errors_is_healthy() {
    let (level, word, _) = model(Variant::Ml, &slot(true, None), &slot(true, None), None);
    assert_eq!((level, word), (Level::Healthy, "healthy"));
}

#[test]
fn refused_model_is_unhealthy_in_words_but_only_degraded_for_the_probe() {
    let (level, word, detail) = model(
        Variant::Ml,
        &slot(false, Some("feature_names differ")),
        &slot(true, None),
        None,
    );
    assert_eq!((level, word), (Level::Degraded, "unhealthy"));
    let detail = detail.unwrap_or_default();
    assert!(
        detail.contains("feature_names differ") && detail.contains("baseline model"),
        "{detail}"
    );
}

#[test]
fn refused_reload_with_a_serving_model_or_a_failed_run_is_degraded() {
    let (_, word, d) = model(
        Variant::Ml,
        &slot(true, Some("bad file")),
        &slot(false, None),
        None,
    );
    assert_eq!(word, "degraded");
    assert!(d.unwrap_or_default().contains("keeps serving"));
    let (_, word, _) = model(
        Variant::Baseline,
        &slot(true, None),
        &slot(true, None),
        Some("NaN"),
    );
    assert_eq!(word, "degraded");
}

#[test]
fn redis_states_follow_the_latest_round_trip_and_recent_failures() {
    assert_eq!(redis(true, 0, None, None).1, "connected");
    assert_eq!(redis(true, 2, None, None).1, "degraded");
    assert_eq!(redis(true, 0, Some(0.02), None).1, "degraded");
    let (level, word, _) = redis(false, 1, None, Some("refused"));
    assert_eq!((level, word), (Level::Degraded, "disconnected"));
}

/// CI (stop 21) failed `ticks::fresh_features…`: `redis_connectivity` read `degraded` on a busy
/// host because the health word judged the latest read alone. One slow read is noise; a window
/// whose median read is slow is a condition.
#[test]
fn one_slow_read_is_noise_a_slow_median_is_degraded() {
    let mut w = RedisWindow::default();
    for _ in 0..14 {
        w.push(true, 0.0003);
    }
    w.push(true, 0.040);
    assert_eq!(redis(true, w.failures(), w.slow_median(), None).1, "connected");
    for _ in 0..7 {
        w.push(true, 0.008);
    }
    let (_, word, detail) = redis(true, w.failures(), w.slow_median(), None);
    assert_eq!(word, "degraded");
    assert!(detail.unwrap().contains("median 8.0 ms"));
    // The bound is configurable (`tick.slow_read_ms`): at 10 ms the same window is connected.
    w.slow_read_secs = 0.010;
    assert_eq!(redis(true, w.failures(), w.slow_median(), None).1, "connected");
    w.slow_read_secs = SLOW_READ_SECS;
    // The window slides: 15 fast reads later the slow ones are gone; failed reads never count
    // as durations but do count as failures.
    for _ in 0..REDIS_WINDOW {
        w.push(true, 0.0004);
    }
    assert_eq!(w.median_read(), Some(0.0004));
    w.push(false, 0.0);
    assert_eq!((w.failures(), w.median_read()), (1, Some(0.0004)));
}

#[test]
fn feature_pipeline_words_follow_the_fallback_reason() {
    let now = 100_000_000;
    let fresh = synced_snapshot(1.0, now);
    assert_eq!(features(Ok(()), Some(&fresh), now).1, "active");
    let old = synced_snapshot(1.0, now - 6_000_000);
    assert_eq!(
        features(Err(FallbackReason::StaleFeatures), Some(&old), now).1,
        "stale"
    );
    let mut buffering = fresh.clone();
    buffering.state = AnchorState::Buffering;
    let (level, word, detail) = features(Err(FallbackReason::AnchorNotSynced), Some(&buffering), now);
    assert_eq!((level, word), (Level::Degraded, "failed"));
    assert!(detail.unwrap_or_default().contains("buffering"));
    assert_eq!(features(Err(FallbackReason::NoFeatures), None, now).1, "failed");
    assert_eq!(
        features(Err(FallbackReason::IncompleteFeatures), Some(&fresh), now).1,
        "stale"
    );
}

#[test]
fn features_about_an_old_market_are_stale_with_the_market_age_in_the_detail() {
    let now = 1_700_000_000_000_000;
    let mut s = synced_snapshot(1.0, now - 100_000);
    s.event_time_us = now - 30_000_000;
    let (level, word, detail) = features(Err(FallbackReason::MarketStale), Some(&s), now);
    assert_eq!((level, word), (Level::Degraded, "stale"));
    assert!(detail.unwrap_or_default().contains("30.0 s ago"));
}
