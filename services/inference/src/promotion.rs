//! Champion switches (issue 17 item 3), by the admin API or the automatic policy:
//!
//! * **promote**: the champion file is kept as the previous champion (`lifecycle.previous_path`),
//!   the challenger file becomes `model.path` and leaves the challenger path, and the already loaded
//!   challenger model is installed in the champion slot;
//! * **rollback**: the previous champion is loaded and validated first, then it and the current
//!   champion swap files (a second rollback undoes the first) and it is installed.
//!
//! Files move by write-beside-then-rename, so a reader never sees a partial model. The champion slot
//! is swapped atomically and the tick loop reads it at the start of each model run, so a switch
//! serves from the next tick on. Every attempt is appended to the audit log and each switch counted
//! in `inference_model_promotions_total{action}`.

use crate::audit::{self, AuditAction, AuditEntry, AuditOutcome};
use crate::config::Variant;
use crate::hot_path::now_us;
use crate::models::{self, LoadedModel};
use crate::state::Shared;
use metrics_schema::InferenceMetrics;
use metrics_schema::labels::LifecycleAction;
use metrics_schema::services::inference::LifecycleLabels;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Who asks for a switch.
#[derive(Clone, Debug)]
pub struct Actor {
    /// `admin-token:<fingerprint>` or `policy`.
    pub id: String,
    pub requested_by: Option<String>,
}

impl Actor {
    pub fn policy() -> Self {
        Actor {
            id: "policy".into(),
            requested_by: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SwitchError {
    #[error("no challenger is loaded")]
    NoChallenger,
    #[error("no previous champion kept at {0}")]
    NoPrevious(String),
    #[error("the previous champion {path} is refused: {reason}")]
    PreviousInvalid { path: String, reason: String },
    #[error("moving model files failed: {0}")]
    Files(String),
}

impl SwitchError {
    /// A refusal of the request as it stands (409), not a failure of the service (500).
    pub fn is_conflict(&self) -> bool {
        !matches!(self, SwitchError::Files(_))
    }
}

/// A done switch.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Switched {
    pub from_version: Option<String>,
    pub to_version: String,
    /// Set when the switch happened but its audit entry could not be written.
    pub audit_error: Option<String>,
}

fn io(what: &str, p: &Path, e: std::io::Error) -> SwitchError {
    SwitchError::Files(format!("{what} {}: {e}", p.display()))
}

fn tmp_beside(p: &Path, suffix: &str) -> PathBuf {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    p.with_file_name(format!(".{name}.{suffix}"))
}

/// Copies `from` to `to` through a temporary file beside `to` and a rename.
fn copy_atomic(from: &Path, to: &Path) -> Result<(), SwitchError> {
    let tmp = tmp_beside(to, "tmp");
    std::fs::copy(from, &tmp).map_err(|e| io("copy", from, e))?;
    std::fs::rename(&tmp, to).map_err(|e| io("rename onto", to, e))
}

/// Promotion's file moves (blocking).
pub fn promote_files(model: &Path, previous: &Path, challenger: &Path) -> Result<(), SwitchError> {
    if model.exists() {
        copy_atomic(model, previous)?;
    }
    copy_atomic(challenger, model)?;
    std::fs::remove_file(challenger).map_err(|e| io("remove", challenger, e))
}

/// Rollback: validates the previous champion, then swaps it with the current one (blocking).
pub fn rollback_files(model: &Path, previous: &Path) -> Result<LoadedModel, SwitchError> {
    if !previous.exists() {
        return Err(SwitchError::NoPrevious(previous.display().to_string()));
    }
    let loaded = models::load(previous, now_us()).map_err(|e| SwitchError::PreviousInvalid {
        path: previous.display().to_string(),
        reason: e.to_string(),
    })?;
    let swap = tmp_beside(model, "swap");
    let had_model = model.exists();
    if had_model {
        std::fs::rename(model, &swap).map_err(|e| io("rename", model, e))?;
    }
    std::fs::rename(previous, model).map_err(|e| io("rename", previous, e))?;
    if had_model {
        std::fs::rename(&swap, previous).map_err(|e| io("rename onto", previous, e))?;
    }
    Ok(loaded)
}

fn audit_action(a: LifecycleAction) -> AuditAction {
    match a {
        LifecycleAction::Promote => AuditAction::Promote,
        LifecycleAction::Rollback => AuditAction::Rollback,
        LifecycleAction::AutoPromote => AuditAction::AutoPromote,
    }
}

/// Writes an audit entry off the executor; the error text when it could not be written.
pub async fn record(shared: &Shared, entry: AuditEntry) -> Option<String> {
    let path = shared.lifecycle.audit_path.clone();
    let r = tokio::task::spawn_blocking(move || audit::append(&path, &entry)).await;
    let e = match r {
        Ok(Ok(())) => return None,
        Ok(Err(e)) => e.to_string(),
        Err(e) => e.to_string(),
    };
    tracing::error!(path = %shared.lifecycle.audit_path.display(), error = %e, "cannot append to the lifecycle audit log");
    Some(e)
}

/// An audit entry for `shared`'s current state.
pub fn entry(shared: &Shared, action: AuditAction, actor: &Actor, reason: &str) -> AuditEntry {
    let t = now_us();
    let champion = shared.models.get(Variant::Ml).map(|m| m.version.clone());
    AuditEntry {
        time_us: t,
        time: audit::rfc3339(t),
        action,
        outcome: AuditOutcome::Done,
        actor: actor.id.clone(),
        requested_by: actor.requested_by.clone(),
        from_version: champion.clone(),
        to_version: champion,
        challenger_version: shared.lifecycle.challenger_model().map(|m| m.version.clone()),
        scores: shared.lifecycle.scores(),
        reason: reason.to_string(),
    }
}

/// Promotes the challenger (`action`: `Promote` by an admin, `AutoPromote` by the policy).
pub async fn promote(
    shared: &Arc<Shared>,
    metrics: &InferenceMetrics,
    actor: &Actor,
    action: LifecycleAction,
    reason: &str,
) -> Result<Switched, SwitchError> {
    switch(shared, metrics, actor, action, reason).await
}

/// Rolls back to the previous champion.
pub async fn rollback(
    shared: &Arc<Shared>,
    metrics: &InferenceMetrics,
    actor: &Actor,
    reason: &str,
) -> Result<Switched, SwitchError> {
    switch(shared, metrics, actor, LifecycleAction::Rollback, reason).await
}

async fn switch(
    shared: &Arc<Shared>,
    metrics: &InferenceMetrics,
    actor: &Actor,
    action: LifecycleAction,
    reason: &str,
) -> Result<Switched, SwitchError> {
    let lc = &shared.lifecycle;
    let _guard = lc.switching.lock().await;
    let mut e = entry(shared, audit_action(action), actor, reason);
    let model = shared.models.path(Variant::Ml).to_path_buf();
    let previous = lc.previous_path.clone();
    let result = if action == LifecycleAction::Rollback {
        tokio::task::spawn_blocking(move || rollback_files(&model, &previous).map(Arc::new))
            .await
            .unwrap_or_else(|j| Err(SwitchError::Files(j.to_string())))
    } else {
        match (lc.challenger.as_ref(), lc.challenger_model()) {
            (Some(slot), Some(m)) => {
                let challenger = slot.path().to_path_buf();
                tokio::task::spawn_blocking(move || promote_files(&model, &previous, &challenger))
                    .await
                    .unwrap_or_else(|j| Err(SwitchError::Files(j.to_string())))
                    .map(|()| m)
            }
            _ => Err(SwitchError::NoChallenger),
        }
    };
    let m = match result {
        Ok(m) => m,
        Err(err) => {
            e.outcome = if err.is_conflict() {
                AuditOutcome::Refused
            } else {
                AuditOutcome::Failed
            };
            e.reason = format!("{reason}; not switched: {err}");
            tracing::warn!(action = ?action, error = %err, "model switch not done");
            let _ = record(shared, e).await;
            return Err(err);
        }
    };
    shared.models.file(Variant::Ml).install(Some(m.clone()));
    if action != LifecycleAction::Rollback
        && let Some(slot) = lc.challenger.as_ref()
    {
        slot.install(None);
    }
    metrics
        .model_promotions
        .get_or_create(&LifecycleLabels { action })
        .inc();
    e.to_version = Some(m.version.clone());
    tracing::warn!(
        action = ?action, actor = %actor.id, from = e.from_version.as_deref().unwrap_or("none"),
        to = %m.version, "champion switched"
    );
    let from_version = e.from_version.clone();
    let audit_error = record(shared, e).await;
    Ok(Switched {
        from_version,
        to_version: m.version.clone(),
        audit_error,
    })
}

#[cfg(test)]
#[path = "promotion_tests.rs"]
mod tests;
