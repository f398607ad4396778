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
    assert_eq!(redis(true, 0, Some(0.0002), None).1, "connected");
    assert_eq!(redis(true, 2, Some(0.0002), None).1, "degraded");
    assert_eq!(redis(true, 0, Some(0.02), None).1, "degraded");
    let (level, word, _) = redis(false, 1, None, Some("refused"));
    assert_eq!((level, word), (Level::Degraded, "disconnected"));
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
