//! Model lifecycle: the start-up load, hot reload when a model file's mtime/size changes (polled)
//! or on SIGHUP (forced), counted in `inference_model_reloads_total{status}`; a refused file keeps
//! the previous model serving. Also keeps the `model_status` health component current.

use crate::config::Variant;
use crate::health;
use crate::hot_path::now_us;
use crate::models::{ModelFile, Reload};
use crate::state::Shared;
use metrics_schema::InferenceMetrics;
use metrics_schema::labels::{ErrorType, ReloadStatus, Stage};
use metrics_schema::services::inference::{ErrorLabels, ReloadLabels};
use std::sync::Arc;
use std::time::Duration;
use svc_kit::health::Health;
use tokio_util::sync::CancellationToken;

/// Re-derive `model_status` from the slots, the active variant and the last run.
pub fn update_model_health(shared: &Shared, h: &Health) {
    let v = shared.variant();
    let other = match v {
        Variant::Ml => Variant::Baseline,
        Variant::Baseline => Variant::Ml,
    };
    let (level, word, detail) = health::model(
        v,
        &shared.models.status(v),
        &shared.models.status(other),
        shared.run_error().as_deref(),
    );
    h.set(health::MODEL, level, word, detail);
}

/// A variant's slot, or the challenger's (`None`) when one is configured.
fn file(shared: &Shared, slot: Option<Variant>) -> Option<&ModelFile> {
    match slot {
        Some(v) => Some(shared.models.file(v)),
        None => shared.lifecycle.challenger.as_ref(),
    }
}

/// Loads every slot (ML, baseline, the challenger if configured) when its file changed (or always
/// with `force`), off the executor. Holds the lifecycle's switch lock, so a poll cannot overwrite
/// a promotion or rollback with the file it read before the switch.
pub async fn reload_all(shared: &Arc<Shared>, metrics: &InferenceMetrics, h: &Health, force: bool) {
    let _guard = shared.lifecycle.switching.lock().await;
    let challenger = shared.lifecycle.challenger.is_some().then_some(None);
    for slot in [Some(Variant::Ml), Some(Variant::Baseline)]
        .into_iter()
        .chain(challenger)
    {
        let s = shared.clone();
        let name = slot.map_or("challenger", Variant::as_str);
        let load = move || file(&s, slot).map(|f| f.reload(force, now_us()));
        let outcome = match tokio::task::spawn_blocking(load).await {
            Ok(Some(o)) => o,
            Ok(None) => continue,
            Err(e) => {
                tracing::error!(variant = name, error = %e, "model load task failed");
                continue;
            }
        };
        let Some(file) = file(shared, slot) else {
            continue;
        };
        let path = file.path().display().to_string();
        let v = name;
        match outcome {
            Reload::Unchanged => continue,
            Reload::Removed => {
                tracing::info!(variant = v, %path, "challenger file removed: no challenger");
                continue;
            }
            Reload::Loaded(m) => {
                metrics
                    .model_reloads
                    .get_or_create(&ReloadLabels {
                        status: ReloadStatus::Success,
                    })
                    .inc();
                tracing::info!(variant = v, %path, version = %m.version, "model loaded");
            }
            Reload::Rejected(e) => {
                metrics
                    .model_reloads
                    .get_or_create(&ReloadLabels {
                        status: ReloadStatus::Rejected,
                    })
                    .inc();
                metrics
                    .errors
                    .get_or_create(&ErrorLabels {
                        error_type: ErrorType::Rejected,
                        stage: Stage::Model,
                    })
                    .inc();
                let kept = file.get().map(|m| m.version.clone());
                tracing::warn!(
                    variant = v, %path, error = %e, error_type = e.label(),
                    keeps_serving = kept.as_deref().unwrap_or("none (fallback)"),
                    "model refused"
                );
            }
        }
    }
    update_model_health(shared, h);
}

/// Polls the model files every `poll` and reloads at once on SIGHUP, until shutdown.
pub async fn run(
    shared: Arc<Shared>,
    metrics: InferenceMetrics,
    h: Health,
    poll: Duration,
    shutdown: CancellationToken,
) {
    let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; model reload by file polling only");
            None
        }
    };
    loop {
        let force = tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(poll) => false,
            Some(()) = async { match hup.as_mut() { Some(s) => s.recv().await, None => std::future::pending().await } } => {
                tracing::info!("SIGHUP: reloading models");
                true
            }
        };
        reload_all(&shared, &metrics, &h, force).await;
    }
}
