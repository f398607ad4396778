//! The tick loop: fire on every wall-clock slot (`MissedTickBehavior::Skip`), run the hot path,
//! then record — metrics, API state, online evaluation, availability and health — off the timed
//! path. Shutdown is only observed between ticks, so a started tick always finishes.

use crate::config::Variant;
use crate::drift_metrics::DriftMonitor;
use crate::evaluation::{Evaluator, Pending};
use crate::hot_path::{HotPath, ReadResult, TickOutcome, now_us};
use crate::prediction::{HORIZON_US, ServedBy};
use crate::schedule;
use crate::shadow::{Shadow, export_live, realized_mid};
use crate::slo::SloWindow;
use crate::state::Published;
use crate::store::{HotPathStore, PublishOutcome};
use crate::supervision::TickLiveness;
use crate::{health, reload};
use metrics_schema::InferenceMetrics;
use metrics_schema::labels::{ErrorType, HotPathStage, ModelRole, ModelVariant, Stage};
use metrics_schema::services::inference::{ErrorLabels, FallbackLabels};
use std::time::Duration;
use svc_kit::health::Health;
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// Moved windows needed before the live quality scores are exported (NaN before).
pub const LIVE_MIN_MOVED: usize = 30;

/// Re-anchor the timer when a tick fires further than this from its wall-clock slot.
const REALIGN_TOLERANCE_US: i64 = 50_000;

pub struct TickLoop<S> {
    pub hot: HotPath<S>,
    pub metrics: InferenceMetrics,
    pub health: Health,
    pub interval_us: i64,
    pub evaluator: Evaluator,
    pub slo: SloWindow,
    /// Redis outcomes of the last ticks, for the health word.
    recent_redis: health::RedisWindow,
    last_slot: i64,
    variant_seen: Option<Variant>,
    liveness: TickLiveness,
    /// Live feature drift against the ML model's training distribution.
    drift: DriftMonitor,
    /// The challenger, run and scored after each tick (issue 17).
    shadow: Shadow,
}

/// A `Skip` interval whose ticks fall on wall-clock multiples of `interval_us`.
pub fn aligned_interval(interval_us: i64) -> Interval {
    let delay = schedule::delay_to_next_slot(now_us(), interval_us);
    let period = Duration::from_micros(u64::try_from(interval_us).unwrap_or(2_000_000));
    let mut i = tokio::time::interval_at(Instant::now() + delay, period);
    i.set_missed_tick_behavior(MissedTickBehavior::Skip);
    i
}

pub fn model_variant_label(v: Variant) -> ModelVariant {
    match v {
        Variant::Ml => ModelVariant::Ml,
        Variant::Baseline => ModelVariant::Baseline,
    }
}

impl<S: HotPathStore> TickLoop<S> {
    pub fn new(
        hot: HotPath<S>,
        metrics: InferenceMetrics,
        health: Health,
        interval_us: i64,
        evaluator: Evaluator,
        slo: SloWindow,
    ) -> Self {
        TickLoop {
            hot,
            metrics,
            health,
            interval_us,
            evaluator,
            slo,
            recent_redis: health::RedisWindow::default(),
            last_slot: i64::MIN,
            variant_seen: None,
            liveness: TickLiveness::new(),
            drift: DriftMonitor::default(),
            shadow: Shadow::new(Evaluator::new(300, 20, interval_us * 2), None),
        }
    }

    /// The median-read bound above which `redis_connectivity` is `degraded` (`tick.slow_read_ms`).
    pub fn with_slow_read(mut self, secs: f64) -> Self {
        self.recent_redis = health::RedisWindow::new(secs);
        self
    }

    /// The challenger's evaluator (same settings as the champion's) and stream writer.
    pub fn with_shadow(mut self, shadow: Shadow) -> Self {
        self.shadow = shadow;
        self
    }

    /// Where completed ticks are recorded (for [`crate::supervision::watch`]).
    pub fn liveness(&self) -> TickLiveness {
        self.liveness.clone()
    }

    /// Ticks until shutdown; hands the store back for a clean disconnect.
    pub async fn run(mut self, shutdown: CancellationToken) -> S {
        let mut interval = aligned_interval(self.interval_us);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = interval.tick() => {}
            }
            let wall = now_us();
            let offset = schedule::offset_us(wall, self.interval_us);
            self.metrics
                .tick_jitter
                .observe(offset.unsigned_abs() as f64 / 1e6);
            if schedule::needs_realign(offset, REALIGN_TOLERANCE_US) {
                tracing::warn!(
                    offset_us = offset,
                    "tick timer drifted from the wall clock; re-aligning"
                );
                interval = aligned_interval(self.interval_us);
            }
            let slot = schedule::nearest_slot_us(wall, self.interval_us);
            if slot <= self.last_slot {
                continue;
            }
            self.last_slot = slot;
            let outcome = self.hot.tick(slot).await;
            self.record(&outcome);
            self.shadow
                .after_tick(&self.hot.shared, &outcome, &self.metrics)
                .await;
            self.liveness.completed(now_us());
        }
        tracing::info!("tick loop stopped");
        self.hot.store
    }

    fn error(&self, error_type: ErrorType, stage: Stage) {
        self.metrics
            .errors
            .get_or_create(&ErrorLabels { error_type, stage })
            .inc();
    }

    /// Everything after the timed hot path.
    pub fn record(&mut self, o: &TickOutcome) {
        let m = &self.metrics.clone();
        let shared = &self.hot.shared.clone();
        let variant = shared.variant();
        if self.variant_seen != Some(variant) {
            m.set_variant(model_variant_label(variant));
            self.variant_seen = Some(variant);
        }
        // Latency.
        let t = &o.timings;
        m.total_latency.observe(t.total);
        m.redis_read_duration.observe(t.read);
        m.stage(HotPathStage::Total, t.total);
        m.stage(HotPathStage::RedisRead, t.read);
        m.stage(HotPathStage::Publish, t.publish);
        if let Some(s) = t.model {
            m.model_prediction_duration.observe(s);
            m.stage(HotPathStage::Model, s);
        }
        // Features.
        if let Some(s) = o.read.snapshot() {
            m.feature_age
                .observe(((o.read_done_us - s.compute_time_us) as f64 / 1e6).max(0.0));
            m.market_age
                .observe((crate::decision::market_age_us(s, o.read_done_us) as f64 / 1e6).max(0.0));
            m.feature_completeness.observe(s.completeness);
        }
        // The prediction.
        let p = &o.prediction;
        m.predictions.inc();
        m.confidence_score.observe(p.confidence);
        if let Some(reason) = o.reason {
            m.fallback_predictions
                .get_or_create(&FallbackLabels { reason })
                .inc();
        }
        shared.publish(Published {
            tick_time_us: p.tick_time_us,
            json: o.json.clone(),
        });
        // Errors.
        match &o.read {
            ReadResult::Unavailable(_) => self.error(ErrorType::Connection, Stage::Redis),
            ReadResult::Malformed(_) => self.error(ErrorType::Malformed, Stage::Features),
            ReadResult::Snapshot(s) if !crate::decision::contract_matches(s, &self.hot.limits) => {
                self.error(ErrorType::Rejected, Stage::Features)
            }
            _ => {}
        }
        if o.published.is_err() && !matches!(o.read, ReadResult::Unavailable(_)) {
            self.error(ErrorType::Connection, Stage::Redis);
        }
        if matches!(o.published, Ok(PublishOutcome::Duplicate)) {
            m.duplicate_slot_writes.inc();
        }
        if o.model_error.is_some() {
            self.error(ErrorType::Internal, Stage::Model);
        }
        if t.model.is_some() {
            shared.set_run_error(o.model_error.clone());
        }
        self.evaluate(o);
        // Drift is measured against the ML slot's model whichever variant serves; only usable
        // vectors (fresh, complete, contract-valid) enter the window.
        let reference = shared
            .models
            .get(Variant::Ml)
            .and_then(|l| l.distribution.clone());
        let live = o
            .read
            .snapshot()
            .filter(|_| o.checked.is_ok())
            .map(|s| s.values.as_slice());
        self.drift.record(reference, live, m);
        self.slo.record(o.read_done_us, o.published.is_ok());
        if let (Some(u), Some(b)) = (self.slo.uptime_ratio(), self.slo.error_budget_remaining()) {
            m.uptime_ratio.set(u);
            m.error_budget_remaining.set(b);
        }
        self.update_health(o);
    }

    fn evaluate(&mut self, o: &TickOutcome) {
        let scored = self.evaluator.observe(o.read_done_us, realized_mid(o));
        let p = &o.prediction;
        if p.served_by != ServedBy::Fallback
            && let Some(pending) = Pending::of(p, HORIZON_US)
        {
            self.evaluator.push(pending);
        }
        if scored == 0 {
            return;
        }
        let s = self.evaluator.snapshot();
        let m = &self.metrics;
        // Issue 17: the serving model is the champion; the challenger is scored in [`Shadow`].
        let q = export_live(m, ModelRole::Champion, &self.evaluator, scored);
        self.hot.shared.lifecycle.set_champion_scores(q);
        for _ in 0..scored {
            if let Some(v) = s.directional_accuracy {
                m.directional_accuracy.observe(v);
            }
            if let Some(v) = s.mean_absolute_error {
                m.mean_absolute_error.observe(v);
            }
            if let Some(v) = s.correlation {
                m.prediction_correlation.observe(v);
            }
            if let Some(v) = s.calibration {
                m.confidence_calibration.observe(v);
            }
        }
    }

    fn update_health(&mut self, o: &TickOutcome) {
        let ok = !matches!(o.read, ReadResult::Unavailable(_)) && o.published.is_ok();
        self.recent_redis.push(ok, o.timings.read);
        let failures = self.recent_redis.failures();
        let err = match (&o.read, &o.published) {
            (ReadResult::Unavailable(e), _) | (_, Err(e)) => Some(e.to_string()),
            _ => None,
        };
        let slow = self.recent_redis.slow_median();
        let (l, w, d) = health::redis(ok, failures, slow, err.as_deref());
        self.health.set(health::REDIS, l, w, d);
        let (l, w, d) = health::features(o.checked, o.read.snapshot(), o.read_done_us);
        self.health.set(health::FEATURES, l, w, d);
        reload::update_model_health(&self.hot.shared, &self.health);
    }
}
