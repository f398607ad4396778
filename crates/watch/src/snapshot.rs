//! From the raw answers of one poll to what the screen shows, without I/O: the latest prediction,
//! the realised outcome of the one made 10 s earlier, rolling accuracy and calibration computed
//! from the prediction history, the model metrics, freshness, anchor, health and alerts.

use crate::prom::Exposition;
use crate::raw::Raw;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Prediction horizon (inference publishes `target_time_us = tick_time_us + 10 s`).
pub const HORIZON_US: i64 = 10_000_000;

/// The fields of a published prediction `watch` shows (unknown fields are ignored).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Prediction {
    pub tick_time_us: i64,
    pub mid: Option<f64>,
    pub predicted_mid: Option<f64>,
    pub expected_return_bps: f64,
    pub p_up: f64,
    pub confidence: f64,
    pub direction: String,
    pub served_by: String,
    pub model_version: Option<String>,
    pub feature_age_ms: Option<f64>,
    pub feature_completeness: Option<f64>,
    pub anchor_epoch: Option<u64>,
    pub fallback_reason: Option<String>,
}

/// How the prediction made one horizon ago turned out.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub then: Prediction,
    pub realised_bps: f64,
    /// `Some(true)` right direction, `Some(false)` wrong, `None` no call (flat) or no move.
    pub hit: Option<bool>,
}

/// Direction hit rate over the history the API returns.
#[derive(Clone, Debug, PartialEq)]
pub struct Rolling {
    pub scored: usize,
    pub accuracy: f64,
    pub mean_confidence: f64,
    /// `1 − |mean confidence − accuracy|`, as inference computes `model_confidence_calibration`.
    pub calibration: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Health {
    pub status: String,
    pub ready: bool,
    /// Components not healthy: `(name, status word, detail)`.
    pub problems: Vec<(String, String, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub name: String,
    pub severity: String,
    pub service: String,
}

/// Means of the rolling-window histograms inference observes per scored prediction.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelMetrics {
    pub accuracy: Option<f64>,
    pub calibration: Option<f64>,
    pub correlation: Option<f64>,
    pub mae_usd: Option<f64>,
    pub fallbacks: Vec<(String, f64)>,
}

/// From the aggregator's /metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct Anchor {
    /// `aggregator_book_state`: 0 synced, 1 buffering, 2 failed.
    pub state: Option<f64>,
    pub epoch: Option<f64>,
    pub buffered_diffs: Option<f64>,
    pub kinesis_lag_s: Option<f64>,
    /// `aggregator_reanchor_operations_total` by status (`success`, `failed`, `superseded`).
    pub reanchors: Vec<(String, f64)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub taken_at_us: i64,
    pub prediction: Result<Prediction, String>,
    pub outcome: Option<Outcome>,
    pub rolling: Option<Rolling>,
    pub model: Result<ModelMetrics, String>,
    pub market_age_s: Option<f64>,
    pub anchor: Result<Anchor, String>,
    pub health: Vec<(&'static str, Result<Health, String>)>,
    pub alerts: Result<Vec<Alert>, String>,
}

fn metrics(raw: &Raw, endpoint: &str) -> Result<Exposition, String> {
    raw.get(endpoint).ok_body().map(Exposition::parse)
}

fn parse_json<T: for<'de> Deserialize<'de>>(raw: &Raw, endpoint: &str) -> Result<T, String> {
    let answer = raw.get(endpoint);
    let body = answer.ok_body()?;
    serde_json::from_str(body).map_err(|e| format!("unexpected answer from {endpoint}: {e}"))
}

/// The prediction made one horizon before `latest` (same tick slot ± half a second) and how it did.
pub fn outcome(latest: &Prediction, history: &[Prediction]) -> Option<Outcome> {
    let want = latest.tick_time_us - HORIZON_US;
    let then = history
        .iter()
        .filter(|p| (p.tick_time_us - want).abs() <= 500_000)
        .min_by_key(|p| (p.tick_time_us - want).abs())?;
    let realised_bps = (latest.mid? / then.mid? - 1.0) * 1e4;
    Some(Outcome {
        then: then.clone(),
        realised_bps,
        hit: hit(&then.direction, realised_bps),
    })
}

fn hit(direction: &str, realised_bps: f64) -> Option<bool> {
    if realised_bps == 0.0 {
        return None;
    }
    match direction {
        "up" => Some(realised_bps > 0.0),
        "down" => Some(realised_bps < 0.0),
        _ => None,
    }
}

/// Hit rate and calibration of every directed prediction in `history` whose outcome one horizon
/// later is also in `history`.
pub fn rolling(history: &[Prediction]) -> Option<Rolling> {
    let by_tick: BTreeMap<i64, &Prediction> = history.iter().map(|p| (p.tick_time_us, p)).collect();
    let (mut scored, mut hits, mut confidence) = (0usize, 0usize, 0.0);
    for p in history {
        let Some(later) = by_tick
            .range(p.tick_time_us + HORIZON_US - 500_000..=p.tick_time_us + HORIZON_US + 500_000)
            .next()
            .map(|(_, l)| *l)
        else {
            continue;
        };
        let (Some(m0), Some(m1)) = (p.mid, later.mid) else {
            continue;
        };
        let Some(h) = hit(&p.direction, (m1 / m0 - 1.0) * 1e4) else {
            continue;
        };
        scored += 1;
        hits += usize::from(h);
        confidence += p.confidence;
    }
    (scored > 0).then(|| {
        let accuracy = hits as f64 / scored as f64;
        let mean_confidence = confidence / scored as f64;
        Rolling {
            scored,
            accuracy,
            mean_confidence,
            calibration: 1.0 - (mean_confidence - accuracy).abs(),
        }
    })
}

/// Histogram mean, over the observations since `prev` when it has fewer (the current rolling
/// value), else since the service started.
fn mean(now: &Exposition, prev: Option<&Exposition>, name: &str) -> Option<f64> {
    let (sum, count) = now.histogram(name)?;
    if let Some((psum, pcount)) = prev.and_then(|p| p.histogram(name))
        && count > pcount
    {
        return Some((sum - psum) / (count - pcount));
    }
    (count > 0.0).then(|| sum / count)
}

fn model(raw: &Raw, prev: Option<&Raw>) -> Result<ModelMetrics, String> {
    let now = metrics(raw, "inference.metrics")?;
    let prev = prev.and_then(|p| metrics(p, "inference.metrics").ok());
    Ok(ModelMetrics {
        accuracy: mean(&now, prev.as_ref(), "model_directional_accuracy"),
        calibration: mean(&now, prev.as_ref(), "model_confidence_calibration"),
        correlation: mean(&now, prev.as_ref(), "model_prediction_correlation"),
        mae_usd: mean(&now, prev.as_ref(), "model_mean_absolute_error"),
        fallbacks: now.by_label("inference_fallback_predictions_total", "reason"),
    })
}

#[derive(Deserialize)]
struct HealthBody {
    status: String,
    #[serde(default)]
    ready: bool,
    #[serde(default)]
    components: BTreeMap<String, Component>,
}

#[derive(Deserialize)]
struct Component {
    level: String,
    status: String,
    #[serde(default)]
    detail: Option<String>,
}

fn health(raw: &Raw, endpoint: &str) -> Result<Health, String> {
    // /health answers 503 with the same JSON when unhealthy: read the body whatever the status.
    let body = match raw.get(endpoint) {
        crate::raw::Answer::Http { body, .. } => body,
        crate::raw::Answer::Failed(why) => return Err(why),
    };
    let h: HealthBody = serde_json::from_str(&body).map_err(|e| format!("unexpected /health answer: {e}"))?;
    Ok(Health {
        status: h.status,
        ready: h.ready,
        problems: h
            .components
            .into_iter()
            .filter(|(_, c)| c.level != "healthy")
            .map(|(name, c)| (name, c.status, c.detail.unwrap_or_default()))
            .collect(),
    })
}

#[derive(Deserialize)]
struct AmAlert {
    labels: BTreeMap<String, String>,
}

fn alerts(raw: &Raw) -> Result<Vec<Alert>, String> {
    let list: Vec<AmAlert> = parse_json(raw, "alertmanager.alerts")?;
    let mut out: Vec<Alert> = list
        .into_iter()
        .map(|a| {
            let get = |k: &str| a.labels.get(k).cloned().unwrap_or_default();
            Alert {
                name: get("alertname"),
                severity: get("severity"),
                service: get("service"),
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.severity, &a.name).cmp(&(&b.severity, &b.name)));
    Ok(out)
}

/// Everything one screen shows. `prev` is the previous poll (for rolling histogram means).
pub fn build(raw: &Raw, prev: Option<&Raw>) -> Snapshot {
    let prediction: Result<Prediction, String> = parse_json(raw, "inference.latest");
    let history: Vec<Prediction> = parse_json(raw, "inference.predictions").unwrap_or_default();
    let aggregator = metrics(raw, "aggregator.metrics");
    Snapshot {
        taken_at_us: raw.taken_at_us,
        outcome: prediction.as_ref().ok().and_then(|p| outcome(p, &history)),
        rolling: rolling(&history),
        prediction,
        model: model(raw, prev),
        market_age_s: metrics(raw, "ingestor.metrics")
            .ok()
            .and_then(|m| m.first("ingestor_last_message_age_seconds")),
        anchor: aggregator.map(|m| Anchor {
            state: m.first("aggregator_book_state"),
            epoch: m.first("aggregator_anchor_epoch"),
            buffered_diffs: m.first("aggregator_reanchor_buffer_depth"),
            kinesis_lag_s: m.first("aggregator_kinesis_lag_seconds"),
            reanchors: m.by_label("aggregator_reanchor_operations_total", "status"),
        }),
        health: vec![
            ("ingestor", health(raw, "ingestor.health")),
            ("aggregator", health(raw, "aggregator.health")),
            ("inference", health(raw, "inference.health")),
        ],
        alerts: alerts(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(tick_s: i64, mid: f64, direction: &str, confidence: f64) -> Prediction {
        Prediction {
            tick_time_us: tick_s * 1_000_000,
            mid: Some(mid),
            predicted_mid: Some(mid),
            expected_return_bps: 0.0,
            p_up: 0.5,
            confidence,
            direction: direction.into(),
            served_by: "ml".into(),
            model_version: None,
            feature_age_ms: None,
            feature_completeness: None,
            anchor_epoch: None,
            fallback_reason: None,
        }
    }

    #[test]
    fn outcome_compares_the_mid_now_with_the_mid_one_horizon_ago() {
        let history = vec![
            p(100, 100.0, "down", 0.6),
            p(98, 99.0, "up", 0.6),
            p(90, 100.0, "up", 0.6),
        ];
        let o = outcome(&history[0], &history).expect("the 90 s prediction is there");
        assert_eq!(o.then.tick_time_us, 90_000_000);
        assert!(o.realised_bps.abs() < 1e-9);
        assert_eq!(o.hit, None, "no move is neither hit nor miss");
        let moved = outcome(&p(100, 100.1, "down", 0.6), &history).expect("found");
        assert!((moved.realised_bps - 10.0).abs() < 1e-6);
        assert_eq!(moved.hit, Some(true));
        assert_eq!(
            outcome(&p(200, 1.0, "up", 0.6), &history),
            None,
            "nothing 10 s earlier"
        );
    }

    #[test]
    fn rolling_scores_directed_predictions_with_a_later_mid() {
        // 0 s up → 10 s higher (hit); 2 s down → 12 s higher (miss); 4 s flat (no call);
        // 10 s and 12 s have nothing 10 s later (not scored).
        let history = vec![
            p(0, 100.0, "up", 0.8),
            p(2, 100.0, "down", 0.6),
            p(4, 100.0, "flat", 0.5),
            p(10, 101.0, "up", 0.9),
            p(12, 101.0, "up", 0.9),
            p(14, 101.0, "up", 0.9),
        ];
        let r = rolling(&history).expect("two scored");
        assert_eq!(r.scored, 2);
        assert!((r.accuracy - 0.5).abs() < 1e-12);
        assert!((r.mean_confidence - 0.7).abs() < 1e-12);
        assert!((r.calibration - 0.8).abs() < 1e-12);
        assert_eq!(rolling(&history[3..]), None);
    }
}
