//! Shaping a model output (or the heuristic fallback) into the published prediction, without I/O.

use crate::config::Variant;
use crate::contract::FeatureSnapshot;
use metrics_schema::labels::{FallbackReason, LabelValue};
use serde::Serialize;

/// Prediction horizon.
pub const HORIZON_US: i64 = 10_000_000;
/// Confidence of the heuristic fallback: a coin flip, the least a direction can be trusted.
pub const FALLBACK_CONFIDENCE: f64 = 0.5;

/// Who produced the numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServedBy {
    Ml,
    Baseline,
    /// No model ran: zero expected return, `p_up` 0.5.
    Fallback,
}

impl From<Variant> for ServedBy {
    fn from(v: Variant) -> Self {
        match v {
            Variant::Ml => ServedBy::Ml,
            Variant::Baseline => ServedBy::Baseline,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Up,
    Down,
    Flat,
}

/// One published prediction (the JSON of the Redis stream entry, the latest key and the API).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Prediction {
    pub symbol: String,
    /// The tick's wall-clock slot (µs since the Unix epoch); the prediction's identity.
    pub tick_time_us: i64,
    /// `tick_time_us + 10 s`: the instant `predicted_mid` is about.
    pub target_time_us: i64,
    pub horizon_s: u32,
    /// Mid of the features used (or last seen, for a fallback), quote units.
    pub mid: Option<f64>,
    /// `mid × (1 + expected_return)`.
    pub predicted_mid: Option<f64>,
    /// Expected `mid(t+10 s) / mid(t) − 1`.
    pub expected_return: f64,
    pub expected_return_bps: f64,
    pub p_up: f64,
    /// Probability that the stated direction is right: `max(p_up, 1 − p_up)`.
    pub confidence: f64,
    pub direction: Direction,
    pub served_by: ServedBy,
    /// The variant selected by configuration / the admin endpoint.
    pub variant: &'static str,
    pub model_version: Option<String>,
    /// `tick time − compute time` of the features used, milliseconds.
    pub feature_age_ms: Option<f64>,
    /// `tick time − event time` of the features used (how old the market data is), milliseconds;
    /// negative when the exchange clock runs ahead of ours.
    pub market_age_ms: Option<f64>,
    pub feature_completeness: Option<f64>,
    pub anchor_epoch: Option<u64>,
    /// Set when this is not the primary ML model on usable features.
    pub fallback_reason: Option<&'static str>,
}

/// The tick context a prediction is shaped from.
#[derive(Clone, Debug)]
pub struct TickContext<'a> {
    pub symbol: &'a str,
    pub tick_time_us: i64,
    pub now_us: i64,
    pub variant: Variant,
    pub features: Option<&'a FeatureSnapshot>,
}

/// Model outputs to shape (`p_up` is clamped to [0, 1]; non-finite outputs are refused earlier).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Output {
    pub p_up: f64,
    pub expected_return: f64,
}

fn direction(p_up: f64) -> Direction {
    if p_up > 0.5 {
        Direction::Up
    } else if p_up < 0.5 {
        Direction::Down
    } else {
        Direction::Flat
    }
}

/// Model outputs are usable when finite.
pub fn output_is_finite(o: &Output) -> bool {
    o.p_up.is_finite() && o.expected_return.is_finite()
}

/// Builds the prediction. `out = None` is the heuristic fallback.
pub fn shape(
    ctx: &TickContext<'_>,
    out: Option<Output>,
    served_by: ServedBy,
    model_version: Option<String>,
    reason: Option<FallbackReason>,
) -> Prediction {
    let f = ctx.features;
    let mid = f.and_then(|f| f.mid);
    let (p_up, expected_return, served_by) = match out {
        Some(o) => (o.p_up.clamp(0.0, 1.0), o.expected_return, served_by),
        None => (0.5, 0.0, ServedBy::Fallback),
    };
    let confidence = if out.is_some() {
        p_up.max(1.0 - p_up)
    } else {
        FALLBACK_CONFIDENCE
    };
    Prediction {
        symbol: ctx.symbol.to_string(),
        tick_time_us: ctx.tick_time_us,
        target_time_us: ctx.tick_time_us + HORIZON_US,
        horizon_s: (HORIZON_US / 1_000_000) as u32,
        mid,
        predicted_mid: mid.map(|m| m * (1.0 + expected_return)),
        expected_return,
        expected_return_bps: expected_return * 1e4,
        p_up,
        confidence,
        direction: if out.is_some() {
            direction(p_up)
        } else {
            Direction::Flat
        },
        served_by,
        variant: ctx.variant.as_str(),
        model_version: if out.is_some() { model_version } else { None },
        feature_age_ms: f.map(|f| (ctx.now_us - f.compute_time_us) as f64 / 1e3),
        market_age_ms: f.map(|f| crate::decision::market_age_us(f, ctx.now_us) as f64 / 1e3),
        feature_completeness: f.map(|f| f.completeness),
        anchor_epoch: f.map(|f| f.epoch),
        fallback_reason: reason.map(LabelValue::as_str),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::synced_snapshot;

    fn ctx(f: Option<&FeatureSnapshot>) -> TickContext<'_> {
        TickContext {
            symbol: "BTCUSDT",
            tick_time_us: 1_000_000_000,
            now_us: 1_000_000_500,
            variant: Variant::Ml,
            features: f,
        }
    }

    #[test]
    fn model_output_becomes_a_predicted_mid_ten_seconds_ahead() {
        let snap = synced_snapshot(60_000.0, 1_000_000_000 - 100_000);
        let out = Output {
            p_up: 0.7,
            expected_return: 1e-4,
        };
        let p = shape(
            &ctx(Some(&snap)),
            Some(out),
            ServedBy::Ml,
            Some("mlp:abc".into()),
            None,
        );
        assert_eq!(p.target_time_us, 1_010_000_000);
        assert_eq!(p.predicted_mid, Some(60_000.0 * 1.0001));
        assert!((p.expected_return_bps - 1.0).abs() < 1e-12);
        assert!((p.confidence - 0.7).abs() < 1e-12);
        assert_eq!(p.direction, Direction::Up);
        assert_eq!(p.feature_age_ms, Some(100.5));
        assert_eq!(p.market_age_ms, Some(100.5));
        assert_eq!(p.fallback_reason, None);
        assert_eq!(p.model_version.as_deref(), Some("mlp:abc"));
    }

    #[test]
    fn heuristic_fallback_predicts_no_move_with_coin_flip_confidence_and_its_reason() {
        let snap = synced_snapshot(60_000.0, 0);
        let p = shape(
            &ctx(Some(&snap)),
            None,
            ServedBy::Ml,
            Some("ignored".into()),
            Some(FallbackReason::StaleFeatures),
        );
        assert_eq!(p.served_by, ServedBy::Fallback);
        assert_eq!((p.p_up, p.expected_return, p.confidence), (0.5, 0.0, 0.5));
        assert_eq!(p.predicted_mid, Some(60_000.0));
        assert_eq!(p.direction, Direction::Flat);
        assert_eq!(p.model_version, None);
        assert_eq!(p.fallback_reason, Some("stale_features"));
    }

    #[test]
    fn down_probability_gives_down_direction_and_symmetric_confidence() {
        let p = shape(
            &ctx(None),
            Some(Output {
                p_up: 0.2,
                expected_return: -2e-5,
            }),
            ServedBy::Baseline,
            None,
            Some(FallbackReason::BaselineVariant),
        );
        assert_eq!(p.direction, Direction::Down);
        assert!((p.confidence - 0.8).abs() < 1e-12);
        assert_eq!(p.mid, None);
        assert_eq!(p.predicted_mid, None);
        assert!(!output_is_finite(&Output {
            p_up: f64::NAN,
            expected_return: 0.0
        }));
    }
}
