//! Pure per-tick decisions: may this feature vector feed a model (docs/redis-contract.md §1 rule),
//! and which predictor serves the tick.

use crate::config::Variant;
use crate::contract::{AnchorState, FeatureSnapshot};
use metrics_schema::labels::FallbackReason;

/// Default bound on the market age (wall clock − the features' last exchange event time): the
/// ~0.1–0.5 s the pipeline normally adds, a flush interval, plus an allowance for clock skew between
/// the exchange and this host (docs/architecture.md "Market-time freshness").
pub const DEFAULT_MAX_MARKET_AGE_US: i64 = 5_000_000;
/// Default allowance for an exchange clock ahead of this host's clock.
pub const DEFAULT_MAX_CLOCK_SKEW_US: i64 = 2_000_000;

/// Thresholds of the "use this vector" rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Bound on `now − compute_time_us` (the aggregator's flush, wall clock).
    pub max_age_us: i64,
    /// Bound on `now − event_time_us` (the market itself); `None` disables the check (replays of
    /// recordings whose event times are not current).
    pub max_market_age_us: Option<i64>,
    /// How far `event_time_us` may lie ahead of `now` (clock skew) before the vector is refused.
    pub max_clock_skew_us: i64,
    pub min_completeness: f64,
    /// `features::FEATURE_VERSION` of this build (the model was validated against it).
    pub feature_version: u32,
    /// `features::feature_list_signature()` of this build.
    pub signature: String,
}

impl Limits {
    pub fn new(max_age_us: i64, min_completeness: f64) -> Self {
        Limits {
            max_age_us,
            max_market_age_us: Some(DEFAULT_MAX_MARKET_AGE_US),
            max_clock_skew_us: DEFAULT_MAX_CLOCK_SKEW_US,
            min_completeness,
            feature_version: features::FEATURE_VERSION,
            signature: features::feature_list_signature(),
        }
    }

    /// With a market-age bound (`None`: no market-time check) and a clock-skew allowance.
    pub fn with_market(mut self, max_market_age_us: Option<i64>, max_clock_skew_us: i64) -> Self {
        self.max_market_age_us = max_market_age_us;
        self.max_clock_skew_us = max_clock_skew_us;
        self
    }
}

/// `now − event_time_us` of a vector: how old the market data behind it is (negative when the
/// exchange clock runs ahead of ours).
pub fn market_age_us(snap: &FeatureSnapshot, now_us: i64) -> i64 {
    now_us.saturating_sub(snap.event_time_us)
}

/// What the tick's Redis read produced.
#[derive(Clone, Copy, Debug)]
pub enum Read<'a> {
    /// The round trip failed (connection, timeout).
    Unavailable,
    /// The key does not exist.
    Missing,
    /// The hash exists but does not decode.
    Malformed,
    Snapshot(&'a FeatureSnapshot),
}

/// Why the vector may not feed the model, or `Ok` when it may.
pub fn check(read: Read<'_>, now_us: i64, limits: &Limits) -> Result<(), FallbackReason> {
    let snap = match read {
        Read::Unavailable => return Err(FallbackReason::RedisUnavailable),
        Read::Missing | Read::Malformed => return Err(FallbackReason::NoFeatures),
        Read::Snapshot(s) => s,
    };
    // A vector of another feature list is no vector for this model (counted as `no_features`; the
    // contract mismatch is also an error metric and a `feature_pipeline: failed` health detail).
    if !contract_matches(snap, limits) {
        return Err(FallbackReason::NoFeatures);
    }
    if snap.state != AnchorState::Synced || !snap.usable {
        return Err(FallbackReason::AnchorNotSynced);
    }
    if now_us.saturating_sub(snap.compute_time_us) > limits.max_age_us {
        return Err(FallbackReason::StaleFeatures);
    }
    // Freshly computed is not fresh: after a stall, during a backlog replay or from a restored
    // Redis the aggregator flushes now about market events long past.
    if let Some(max_market_age) = limits.max_market_age_us {
        let age = market_age_us(snap, now_us);
        if age > max_market_age {
            return Err(FallbackReason::MarketStale);
        }
        if age < -limits.max_clock_skew_us {
            return Err(FallbackReason::ClockSkew);
        }
    }
    if snap.completeness.is_nan() || snap.completeness < limits.min_completeness {
        return Err(FallbackReason::IncompleteFeatures);
    }
    Ok(())
}

/// Same feature version, signature and length as this build.
pub fn contract_matches(snap: &FeatureSnapshot, limits: &Limits) -> bool {
    snap.version == limits.feature_version
        && snap.sig == limits.signature
        && snap.values.len() == features::N_FEATURES
}

/// Which predictor serves a tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serve {
    /// Run a loaded model; `reason` is set when it is not the primary ML model.
    Model {
        which: Variant,
        reason: Option<FallbackReason>,
    },
    /// No model: the heuristic fallback (zero return, p_up 0.5).
    Heuristic(FallbackReason),
}

/// Chooses the predictor from the check result, the active variant and which models are loaded.
/// A baseline variant chosen on purpose is counted `baseline_variant`; an ML variant without a
/// loaded ML model falls back to the baseline model (`model_unavailable`). A baseline variant
/// without a baseline model does not silently serve the ML model it rolled back from.
pub fn choose(
    checked: Result<(), FallbackReason>,
    variant: Variant,
    ml_loaded: bool,
    baseline_loaded: bool,
) -> Serve {
    if let Err(reason) = checked {
        return Serve::Heuristic(reason);
    }
    match (variant, ml_loaded, baseline_loaded) {
        (Variant::Ml, true, _) => Serve::Model {
            which: Variant::Ml,
            reason: None,
        },
        (Variant::Ml, false, true) => Serve::Model {
            which: Variant::Baseline,
            reason: Some(FallbackReason::ModelUnavailable),
        },
        (Variant::Baseline, _, true) => Serve::Model {
            which: Variant::Baseline,
            reason: Some(FallbackReason::BaselineVariant),
        },
        (_, _, false) => Serve::Heuristic(FallbackReason::ModelUnavailable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::synced_snapshot;
    use FallbackReason::*;

    const NOW: i64 = 1_700_000_000_000_000;

    fn limits() -> Limits {
        Limits::new(2_000_000, 0.9)
    }

    #[test]
    fn fresh_complete_synced_vector_may_feed_the_model() {
        let s = synced_snapshot(100.0, NOW - 150_000);
        assert_eq!(check(Read::Snapshot(&s), NOW, &limits()), Ok(()));
    }

    #[test]
    fn each_broken_rule_gives_its_own_fallback_reason() {
        let fresh = synced_snapshot(100.0, NOW);
        let with = |f: &dyn Fn(&mut FeatureSnapshot)| {
            let mut s = fresh.clone();
            f(&mut s);
            check(Read::Snapshot(&s), NOW, &limits())
        };
        assert_eq!(with(&|s| s.compute_time_us = NOW - 2_000_001), Err(StaleFeatures));
        assert_eq!(with(&|s| s.completeness = 0.89), Err(IncompleteFeatures));
        assert_eq!(with(&|s| s.completeness = f64::NAN), Err(IncompleteFeatures));
        assert_eq!(with(&|s| s.state = AnchorState::Buffering), Err(AnchorNotSynced));
        assert_eq!(with(&|s| s.usable = false), Err(AnchorNotSynced));
        assert_eq!(with(&|s| s.version += 1), Err(NoFeatures));
        assert_eq!(with(&|s| s.sig.push('x')), Err(NoFeatures));
        assert_eq!(check(Read::Missing, NOW, &limits()), Err(NoFeatures));
        assert_eq!(check(Read::Malformed, NOW, &limits()), Err(NoFeatures));
        assert_eq!(check(Read::Unavailable, NOW, &limits()), Err(RedisUnavailable));
    }

    #[test]
    fn freshly_computed_features_about_an_old_market_fall_back_as_market_stale() {
        // Exchange stall, backlog replay: the flush is new, the last exchange event is not.
        let mut s = synced_snapshot(100.0, NOW - 100_000);
        s.event_time_us = NOW - 30_000_000;
        assert_eq!(check(Read::Snapshot(&s), NOW, &limits()), Err(MarketStale));
        s.event_time_us = NOW - DEFAULT_MAX_MARKET_AGE_US;
        assert_eq!(
            check(Read::Snapshot(&s), NOW, &limits()),
            Ok(()),
            "the bound itself is fresh"
        );
        s.event_time_us = NOW - DEFAULT_MAX_MARKET_AGE_US - 1;
        assert_eq!(check(Read::Snapshot(&s), NOW, &limits()), Err(MarketStale));
        // An exchange clock ahead of ours within the allowance is fine, beyond it is refused.
        s.event_time_us = NOW + DEFAULT_MAX_CLOCK_SKEW_US;
        assert_eq!(check(Read::Snapshot(&s), NOW, &limits()), Ok(()));
        s.event_time_us = NOW + DEFAULT_MAX_CLOCK_SKEW_US + 1;
        assert_eq!(check(Read::Snapshot(&s), NOW, &limits()), Err(ClockSkew));
        // Disabled (replays of old recordings): only the compute-time rule applies.
        s.event_time_us = NOW - 3_600_000_000;
        let off = limits().with_market(None, 0);
        assert_eq!(check(Read::Snapshot(&s), NOW, &off), Ok(()));
    }

    #[test]
    fn redis_restored_from_an_old_state_is_stale_before_it_is_market_stale() {
        let mut s = synced_snapshot(100.0, NOW - 600_000_000);
        s.event_time_us = NOW - 600_000_000;
        assert_eq!(check(Read::Snapshot(&s), NOW, &limits()), Err(StaleFeatures));
    }

    #[test]
    fn anchor_state_is_checked_before_staleness() {
        let mut s = synced_snapshot(100.0, NOW - 60_000_000);
        s.state = AnchorState::Failed;
        assert_eq!(check(Read::Snapshot(&s), NOW, &limits()), Err(AnchorNotSynced));
    }

    #[test]
    fn predictor_choice_follows_variant_and_loaded_models() {
        let model = |which, reason| Serve::Model { which, reason };
        assert_eq!(choose(Ok(()), Variant::Ml, true, true), model(Variant::Ml, None));
        assert_eq!(
            choose(Ok(()), Variant::Ml, false, true),
            model(Variant::Baseline, Some(ModelUnavailable))
        );
        assert_eq!(
            choose(Ok(()), Variant::Ml, false, false),
            Serve::Heuristic(ModelUnavailable)
        );
        assert_eq!(
            choose(Ok(()), Variant::Baseline, true, true),
            model(Variant::Baseline, Some(BaselineVariant))
        );
        assert_eq!(
            choose(Ok(()), Variant::Baseline, true, false),
            Serve::Heuristic(ModelUnavailable)
        );
        assert_eq!(
            choose(Err(StaleFeatures), Variant::Ml, true, true),
            Serve::Heuristic(StaleFeatures)
        );
    }
}
