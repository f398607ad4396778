//! The challenger in shadow (issue 17 item 1). After a tick's champion prediction is published and
//! recorded, the challenger (if loaded) runs on the same feature vector — only when the features
//! were usable — and its prediction goes to its own stream `{S}:predictions:challenger` (never to the
//! API, the latest key or the champion's stream). It is scored 10 s later against the same realised
//! mid as the champion, by the same [`Evaluator`] and [`crate::quality`] code, under
//! `model="challenger"`. A new challenger version starts a fresh window. Then the automatic policy
//! ([`crate::policy`], when enabled) looks at both live scores.

use crate::audit::AuditAction;
use crate::evaluation::{Evaluator, Pending};
use crate::hot_path::{TickOutcome, run_model};
use crate::policy::{Policy, Verdict};
use crate::prediction::{self, HORIZON_US, Prediction, ServedBy, TickContext};
use crate::promotion::{self, Actor};
use crate::quality::{self, Quality};
use crate::state::Shared;
use bytes::Bytes;
use fred::prelude::*;
use metrics_schema::InferenceMetrics;
use metrics_schema::labels::{FallbackReason, LifecycleAction, ModelRole, ShadowOutcome};
use metrics_schema::services::inference::{RoleLabels, ShadowLabels};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The mid a tick realises for predictions made 10 s before (champion and challenger alike): the
/// tick's features when they are trustworthy (fresh; incomplete is fine for the mid).
pub fn realized_mid(o: &TickOutcome) -> Option<f64> {
    match (o.checked, o.read.snapshot()) {
        (Ok(()) | Err(FallbackReason::IncompleteFeatures), Some(s)) => s.mid,
        _ => None,
    }
}

/// Counts `scored` newly scored predictions of `role` and exports its live scores.
pub fn export_live(m: &InferenceMetrics, role: ModelRole, e: &Evaluator, scored: usize) -> Quality {
    let q = quality::quality(e.outcomes(), crate::tick::LIVE_MIN_MOVED);
    m.scored_predictions
        .get_or_create(&RoleLabels { model: role })
        .inc_by(scored as u64);
    m.live_quality(
        role,
        q.moved,
        q.accuracy,
        q.log_loss,
        q.brier,
        q.calibration_error,
    );
    q
}

/// The challenger's stream writer (shares the hot path's Redis connection).
pub struct ChallengerStream {
    client: Client,
    key: String,
    maxlen: i64,
    timeout: Duration,
}

/// Key of the challenger's stream.
pub fn stream_key(symbol: &str) -> String {
    format!("{{{symbol}}}:predictions:challenger")
}

impl ChallengerStream {
    pub fn new(client: Client, symbol: &str, maxlen: u64, timeout: Duration) -> Self {
        ChallengerStream {
            client,
            key: stream_key(symbol),
            maxlen: i64::try_from(maxlen).unwrap_or(i64::MAX),
            timeout,
        }
    }

    /// `XADD {S}:predictions:challenger MAXLEN ~ N * tick_us <slot> json <p>`, bounded in time.
    pub async fn publish(&self, tick_us: i64, json: Bytes) -> Result<(), String> {
        let fields: Vec<(&str, Value)> = vec![("tick_us", Value::from(tick_us)), ("json", Value::from(json))];
        let xadd = self.client.xadd::<Value, _, _, _, _>(
            self.key.as_str(),
            false,
            ("MAXLEN", "~", self.maxlen),
            "*",
            fields,
        );
        match tokio::time::timeout(self.timeout, xadd).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("timed out after {:?}", self.timeout)),
        }
    }
}

/// A challenger prediction as its stream carries it.
#[derive(Serialize)]
struct ShadowPrediction<'a> {
    #[serde(flatten)]
    p: &'a Prediction,
    role: &'static str,
    champion_version: Option<&'a str>,
}

pub struct Shadow {
    evaluator: Evaluator,
    stream: Option<ChallengerStream>,
    version: Option<String>,
    /// The policy's last logged verdict (refusals are logged when their kind changes).
    logged: Option<Verdict>,
    promoting: Arc<AtomicBool>,
}

impl Shadow {
    pub fn new(evaluator: Evaluator, stream: Option<ChallengerStream>) -> Self {
        Shadow {
            evaluator,
            stream,
            version: None,
            logged: None,
            promoting: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Everything challenger-side of one tick; runs after the champion published and was recorded.
    pub async fn after_tick(&mut self, shared: &Arc<Shared>, o: &TickOutcome, m: &InferenceMetrics) {
        let challenger = shared.lifecycle.challenger_model();
        let version = challenger.as_ref().map(|c| c.version.clone());
        if version != self.version {
            self.evaluator.reset();
            self.version = version;
            let q = export_live(m, ModelRole::Challenger, &self.evaluator, 0);
            shared.lifecycle.set_challenger_scores(q);
        }
        let scored = self.evaluator.observe(o.read_done_us, realized_mid(o));
        if scored > 0 {
            let q = export_live(m, ModelRole::Challenger, &self.evaluator, scored);
            shared.lifecycle.set_challenger_scores(q);
        }
        if let (Some(c), Some(snap), Ok(())) = (challenger.as_deref(), o.read.snapshot(), o.checked) {
            let out = run_model(c, snap);
            let outcome = match out {
                Err(e) => {
                    tracing::debug!(version = %c.version, error = %e, "challenger run failed");
                    ShadowOutcome::ModelError
                }
                Ok(out) => {
                    let ctx = TickContext {
                        symbol: &shared.symbol,
                        tick_time_us: o.prediction.tick_time_us,
                        now_us: o.read_done_us,
                        variant: crate::config::Variant::Ml,
                        features: Some(snap),
                    };
                    let p = prediction::shape(&ctx, Some(out), ServedBy::Ml, Some(c.version.clone()), None);
                    if let Some(pending) = Pending::of(&p, HORIZON_US) {
                        self.evaluator.push(pending);
                    }
                    self.publish(&p, o).await
                }
            };
            m.challenger_runs.get_or_create(&ShadowLabels { outcome }).inc();
        }
        self.policy(shared, m);
    }

    async fn publish(&self, p: &Prediction, o: &TickOutcome) -> ShadowOutcome {
        let Some(stream) = &self.stream else {
            return ShadowOutcome::Published;
        };
        let json = serde_json::to_vec(&ShadowPrediction {
            p,
            role: "challenger",
            champion_version: o.prediction.model_version.as_deref(),
        })
        .unwrap_or_default();
        match stream.publish(p.tick_time_us, Bytes::from(json)).await {
            Ok(()) => ShadowOutcome::Published,
            Err(e) => {
                tracing::debug!(error = %e, "challenger stream write failed");
                ShadowOutcome::PublishError
            }
        }
    }

    /// The automatic policy: promote in a task of its own (the tick loop never waits for files);
    /// refusals go to the audit log when their kind changes.
    fn policy(&mut self, shared: &Arc<Shared>, m: &InferenceMetrics) {
        let cfg = &shared.lifecycle.config;
        if !cfg.auto_promote || self.promoting.load(Ordering::Acquire) {
            return;
        }
        let policy = Policy {
            margin: cfg.auto_margin,
            min_windows: cfg.auto_min_windows,
        };
        let d = policy.decide(self.version.is_some(), &shared.lifecycle.scores());
        if self.logged == Some(d.verdict) {
            return;
        }
        self.logged = Some(d.verdict);
        let (shared, m, flag) = (shared.clone(), m.clone(), self.promoting.clone());
        if d.verdict == Verdict::Promote {
            flag.store(true, Ordering::Release);
            tokio::spawn(async move {
                let r = promotion::promote(
                    &shared,
                    &m,
                    &Actor::policy(),
                    LifecycleAction::AutoPromote,
                    &d.reason,
                )
                .await;
                if let Err(e) = r {
                    tracing::warn!(error = %e, "automatic promotion not done");
                }
                flag.store(false, Ordering::Release);
            });
        } else {
            tokio::spawn(async move {
                let mut e = promotion::entry(&shared, AuditAction::AutoRefused, &Actor::policy(), &d.reason);
                e.outcome = crate::audit::AuditOutcome::Refused;
                let _ = promotion::record(&shared, e).await;
            });
        }
    }
}
