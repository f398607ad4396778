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
    /// Seconds the means cover (observations since the baseline poll), `None` = since start.
    pub window_s: Option<f64>,
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

/// The poll to take histogram deltas from: the newest at least `window_us` older than `now_us`,
/// else the oldest kept. Inference observes its rolling-window accuracy once per scored
/// prediction (every 2 s), so a 1 s delta would often be empty; ~10 s holds about five.
pub fn baseline(history: &[Raw], now_us: i64, window_us: i64) -> Option<&Raw> {
    history
        .iter()
        .filter(|r| r.taken_at_us <= now_us - window_us)
        .max_by_key(|r| r.taken_at_us)
        .or_else(|| {
            history
                .iter()
                .filter(|r| r.taken_at_us < now_us)
                .min_by_key(|r| r.taken_at_us)
        })
}

/// Histogram mean over the observations since `base`, or since the service started.
fn mean(now: &Exposition, base: Option<&Exposition>, name: &str) -> Option<f64> {
    let (sum, count) = now.histogram(name)?;
    match base.and_then(|b| b.histogram(name)) {
        Some((bsum, bcount)) if count > bcount => Some((sum - bsum) / (count - bcount)),
        Some(_) => None,
        None => (count > 0.0).then(|| sum / count),
    }
}

fn model(raw: &Raw, base: Option<&Raw>) -> Result<ModelMetrics, String> {
    let now = metrics(raw, "inference.metrics")?;
    const SCORED: &str = "model_directional_accuracy";
    // A baseline without newer scored predictions (or unreadable) would give empty deltas: use
    // the means since start then, and say so.
    let base = base
        .and_then(|b| Some((b.taken_at_us, metrics(b, "inference.metrics").ok()?)))
        .filter(|(_, b)| matches!((now.histogram(SCORED), b.histogram(SCORED)), (Some((_, n)), Some((_, p))) if n > p));
    let window_s = base.as_ref().map(|(t, _)| (raw.taken_at_us - t) as f64 / 1e6);
    let base = base.as_ref().map(|(_, b)| b);
    Ok(ModelMetrics {
        accuracy: mean(&now, base, SCORED),
        calibration: mean(&now, base, "model_confidence_calibration"),
        correlation: mean(&now, base, "model_prediction_correlation"),
        mae_usd: mean(&now, base, "model_mean_absolute_error"),
        fallbacks: now.by_label("inference_fallback_predictions_total", "reason"),
        window_s,
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

/// Everything one screen shows. `base` is an earlier poll to take the model histograms' recent
/// means from ([`baseline`]); `None` shows the means since the service started.
pub fn build(raw: &Raw, base: Option<&Raw>) -> Snapshot {
    let prediction: Result<Prediction, String> = parse_json(raw, "inference.latest");
    let history: Vec<Prediction> = parse_json(raw, "inference.predictions").unwrap_or_default();
    let aggregator = metrics(raw, "aggregator.metrics");
    Snapshot {
        taken_at_us: raw.taken_at_us,
        outcome: prediction.as_ref().ok().and_then(|p| outcome(p, &history)),
        rolling: rolling(&history),
        prediction,
        model: model(raw, base),
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

    fn metrics_raw(t_s: i64, sum: f64, count: f64) -> Raw {
        let body =
            format!("model_directional_accuracy_sum {sum}\nmodel_directional_accuracy_count {count}\n");
        Raw {
            taken_at_us: t_s * 1_000_000,
            answers: vec![(
                "inference.metrics",
                crate::raw::Answer::Http { status: 200, body },
            )],
        }
    }

    #[test]
    fn model_means_cover_the_last_ten_seconds_and_say_so() {
        // 20 observations of 0.5 in the first 100 s, then 5 of 0.8 in the last 10 s.
        let history: Vec<Raw> = vec![
            metrics_raw(100, 10.0, 20.0),
            metrics_raw(109, 10.8, 21.0),
            metrics_raw(110, 10.8, 21.0),
        ];
        let now = metrics_raw(111, 14.0, 25.0);
        let base = baseline(&history, now.taken_at_us, 10_000_000).expect("one at least 10 s old");
        assert_eq!(base.taken_at_us, 100_000_000);
        let m = build(&now, Some(base)).model.expect("metrics");
        assert!((m.accuracy.expect("delta") - 0.8).abs() < 1e-9, "{m:?}");
        assert_eq!(m.window_s, Some(11.0));
        // Only a 1 s old poll with the same count: no empty delta, the since-start mean, labelled so.
        let m = build(&metrics_raw(111, 10.8, 21.0), Some(&history[2]))
            .model
            .expect("metrics");
        assert_eq!(m.window_s, None);
        assert!((m.accuracy.expect("since start") - 10.8 / 21.0).abs() < 1e-9);
        // Nothing 10 s old yet: the oldest kept poll.
        assert_eq!(
            baseline(&history[1..], 111_000_000, 10_000_000).map(|r| r.taken_at_us),
            Some(109_000_000)
        );
        assert!(baseline(&[], 1, 1).is_none());
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
