//! One tick's hot path: read the features (one round trip) → check → run the model → publish
//! (one round trip). The model runs inline on the tick task: a run takes ~5 µs, far below what
//! handing it to another thread costs (measured in `benches/hot_path.rs`), and the tick task is the
//! only work it could delay.

use crate::config::Variant;
use crate::contract::{self, DecodeError, FeatureSnapshot};
use crate::decision::{self, Limits, Read, Serve};
use crate::models::LoadedModel;
use crate::prediction::{self, Output, Prediction, ServedBy, TickContext};
use crate::state::Shared;
use crate::store::{HotPathStore, PublishOutcome, StoreError};
use bytes::Bytes;
use metrics_schema::labels::FallbackReason;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Wall clock, µs since the Unix epoch.
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// What the read produced.
#[derive(Debug)]
pub enum ReadResult {
    Unavailable(StoreError),
    Missing,
    Malformed(DecodeError),
    Snapshot(FeatureSnapshot),
}

impl ReadResult {
    pub fn as_read(&self) -> Read<'_> {
        match self {
            ReadResult::Unavailable(_) => Read::Unavailable,
            ReadResult::Missing => Read::Missing,
            ReadResult::Malformed(_) => Read::Malformed,
            ReadResult::Snapshot(s) => Read::Snapshot(s),
        }
    }

    pub fn snapshot(&self) -> Option<&FeatureSnapshot> {
        match self {
            ReadResult::Snapshot(s) => Some(s),
            _ => None,
        }
    }
}

/// Stage durations in seconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    pub read: f64,
    pub model: Option<f64>,
    pub publish: f64,
    pub total: f64,
}

/// Everything the tick loop records about one tick.
#[derive(Debug)]
pub struct TickOutcome {
    pub read: ReadResult,
    pub checked: Result<(), FallbackReason>,
    pub serve: Serve,
    /// The `reason` label when this is not the primary ML model on usable features.
    pub reason: Option<FallbackReason>,
    pub prediction: Prediction,
    pub json: Bytes,
    /// `Duplicate`: another inference process had already published this slot.
    pub published: Result<PublishOutcome, StoreError>,
    /// Set when the model ran and failed (the tick then used the heuristic fallback).
    pub model_error: Option<String>,
    pub timings: Timings,
    pub read_done_us: i64,
}

pub struct HotPath<S> {
    pub store: S,
    pub shared: Arc<Shared>,
    pub limits: Limits,
}

/// Runs `m` on the snapshot's values (also the challenger's run in [`crate::shadow`]).
pub fn run_model(m: &LoadedModel, snap: &FeatureSnapshot) -> Result<Output, String> {
    let row: Vec<f32> = snap.values.iter().map(|v| *v as f32).collect();
    let p = m.model.predict(&row).map_err(|e| e.to_string())?;
    let out = Output {
        p_up: f64::from(p.p_up),
        expected_return: f64::from(p.expected_return),
    };
    if prediction::output_is_finite(&out) {
        Ok(out)
    } else {
        Err(format!("model output is not finite: {out:?}"))
    }
}

impl<S: HotPathStore> HotPath<S> {
    /// Runs one tick for the wall-clock slot `tick_time_us`.
    pub async fn tick(&self, tick_time_us: i64) -> TickOutcome {
        let start = Instant::now();
        let read = match self.store.read_features().await {
            Err(e) => ReadResult::Unavailable(e),
            Ok(None) => ReadResult::Missing,
            Ok(Some(fields)) => match contract::decode(&fields) {
                Ok(s) => ReadResult::Snapshot(s),
                Err(e) => ReadResult::Malformed(e),
            },
        };
        let read_done = Instant::now();
        let read_done_us = now_us();
        let checked = decision::check(read.as_read(), read_done_us, &self.limits);
        let variant = self.shared.variant();
        let ml = self.shared.models.get(Variant::Ml);
        let baseline = self.shared.models.get(Variant::Baseline);
        let serve = decision::choose(checked, variant, ml.is_some(), baseline.is_some());
        let mut model_time = None;
        let mut model_error = None;
        let (out, served_by, version, reason) = match (serve, read.snapshot()) {
            (Serve::Model { which, reason }, Some(snap)) => {
                let m = if which == Variant::Ml { &ml } else { &baseline };
                let t = Instant::now();
                let r = m.as_deref().map(|m| (run_model(m, snap), m.version.clone()));
                model_time = Some(t.elapsed().as_secs_f64());
                match r {
                    Some((Ok(out), version)) => (Some(out), ServedBy::from(which), Some(version), reason),
                    Some((Err(e), _)) => {
                        model_error = Some(e);
                        (None, ServedBy::Fallback, None, Some(FallbackReason::ModelError))
                    }
                    None => (
                        None,
                        ServedBy::Fallback,
                        None,
                        Some(FallbackReason::ModelUnavailable),
                    ),
                }
            }
            (Serve::Model { .. }, None) => (None, ServedBy::Fallback, None, Some(FallbackReason::NoFeatures)),
            (Serve::Heuristic(r), _) => (None, ServedBy::Fallback, None, Some(r)),
        };
        let model_done = Instant::now();
        let ctx = TickContext {
            symbol: &self.shared.symbol,
            tick_time_us,
            now_us: read_done_us,
            variant,
            features: read.snapshot(),
        };
        let prediction = prediction::shape(&ctx, out, served_by, version, reason);
        let json = Bytes::from(serde_json::to_vec(&prediction).unwrap_or_default());
        let published = self.store.publish(tick_time_us, json.clone()).await;
        let end = Instant::now();
        TickOutcome {
            timings: Timings {
                read: (read_done - start).as_secs_f64(),
                model: model_time,
                publish: (end - model_done).as_secs_f64(),
                total: (end - start).as_secs_f64(),
            },
            read,
            checked,
            serve,
            reason,
            prediction,
            json,
            published,
            model_error,
            read_done_us,
        }
    }
}
