//! Model lifecycle state (issue 17): the optional challenger slot (scored in shadow by
//! [`crate::shadow`]), where a promotion keeps the displaced champion (the rollback target), the
//! audit log, the automatic policy's settings, and the latest live scores of both roles (what the
//! audit log and `/v1/model` report). Switches themselves are in [`crate::promotion`].

use crate::models::{ModelFile, SlotStatus};
use crate::quality::Quality;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use svc_kit::config::FieldError;

/// `lifecycle.*` (`INFERENCE__LIFECYCLE__*`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LifecycleConfig {
    /// The challenger model, run in shadow after every published champion prediction; empty: no
    /// challenger. Hot-reloaded like the champion; a missing file means no challenger (not an error).
    pub challenger_path: PathBuf,
    /// Where a promotion keeps the displaced champion (the rollback target); empty:
    /// `previous.onnx` beside `model.path`. The model directory must be writable to switch.
    pub previous_path: PathBuf,
    /// Append-only JSONL audit log of switches and policy decisions; empty: `lifecycle-audit.jsonl`
    /// beside `model.path`.
    pub audit_log: PathBuf,
    /// Approximate bound of the `{SYMBOL}:predictions:challenger` stream (`XADD MAXLEN ~`).
    pub challenger_stream_maxlen: u64,
    /// The automatic policy (off by default): promote when the challenger's live log-loss beats the
    /// champion's by `auto_margin` with both scored on at least `auto_min_windows` moved windows.
    pub auto_promote: bool,
    /// Required log-loss improvement (nats per moved window; coin flip = 0.693).
    pub auto_margin: f64,
    /// Moved windows each model's live log-loss must rest on (at most `evaluation.window`).
    pub auto_min_windows: usize,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        LifecycleConfig {
            challenger_path: PathBuf::new(),
            previous_path: PathBuf::new(),
            audit_log: PathBuf::new(),
            challenger_stream_maxlen: 10_000,
            auto_promote: false,
            auto_margin: 0.01,
            auto_min_windows: 200,
        }
    }
}

fn beside(model: &Path, name: &str) -> PathBuf {
    model
        .parent()
        .map(|d| d.join(name))
        .unwrap_or_else(|| name.into())
}

impl LifecycleConfig {
    pub fn previous_file(&self, model: &Path) -> PathBuf {
        if self.previous_path.as_os_str().is_empty() {
            beside(model, "previous.onnx")
        } else {
            self.previous_path.clone()
        }
    }

    pub fn audit_file(&self, model: &Path) -> PathBuf {
        if self.audit_log.as_os_str().is_empty() {
            beside(model, "lifecycle-audit.jsonl")
        } else {
            self.audit_log.clone()
        }
    }

    /// Range checks; `window` is `evaluation.window` (the most moved windows a score can rest on);
    /// the challenger and previous-champion files must be files of their own (a promotion moves them).
    pub fn validate(&self, window: usize, model: &Path, baseline: &Path, errors: &mut Vec<FieldError>) {
        let previous = self.previous_file(model);
        if previous == model || previous == baseline {
            errors.push(FieldError {
                path: "lifecycle.previous_path".into(),
                message: "must differ from model.path and the baseline file".into(),
            });
        }
        let c = &self.challenger_path;
        if !c.as_os_str().is_empty() && (c == model || c == baseline || *c == previous) {
            errors.push(FieldError {
                path: "lifecycle.challenger_path".into(),
                message: "must differ from model.path, the baseline and the previous-champion file".into(),
            });
        }
        let mut check = |ok: bool, path: &str, message: String| {
            if !ok {
                errors.push(FieldError {
                    path: path.into(),
                    message,
                });
            }
        };
        check(
            (1..=10_000_000).contains(&self.challenger_stream_maxlen),
            "lifecycle.challenger_stream_maxlen",
            format!("must be in [1, 10000000], got {}", self.challenger_stream_maxlen),
        );
        check(
            self.auto_margin.is_finite() && (0.0..=1.0).contains(&self.auto_margin),
            "lifecycle.auto_margin",
            format!("must be in [0, 1], got {}", self.auto_margin),
        );
        check(
            (1..=window).contains(&self.auto_min_windows),
            "lifecycle.auto_min_windows",
            format!(
                "must be in [1, evaluation.window = {window}], got {}",
                self.auto_min_windows
            ),
        );
    }
}

/// The live scores of both roles at the latest scored tick.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LiveScores {
    pub champion: Quality,
    pub challenger: Quality,
}

pub struct Lifecycle {
    pub config: LifecycleConfig,
    /// `None` when no challenger path is configured.
    pub challenger: Option<ModelFile>,
    pub previous_path: PathBuf,
    pub audit_path: PathBuf,
    live: Mutex<LiveScores>,
    /// Serialises switches with each other and with the reload poller (a poll that read the old
    /// file cannot overwrite a switch).
    pub switching: tokio::sync::Mutex<()>,
}

impl Lifecycle {
    pub fn new(config: LifecycleConfig, model_path: &Path) -> Self {
        let challenger = (!config.challenger_path.as_os_str().is_empty())
            .then(|| ModelFile::optional(config.challenger_path.clone()));
        Lifecycle {
            previous_path: config.previous_file(model_path),
            audit_path: config.audit_file(model_path),
            challenger,
            config,
            live: Mutex::new(LiveScores::default()),
            switching: tokio::sync::Mutex::new(()),
        }
    }

    /// No challenger, no automatic policy (tests and tools that build a bare [`crate::state::Shared`]).
    pub fn disabled(model_path: &Path) -> Self {
        Self::new(LifecycleConfig::default(), model_path)
    }

    pub fn challenger_model(&self) -> Option<std::sync::Arc<crate::models::LoadedModel>> {
        self.challenger.as_ref().and_then(ModelFile::get)
    }

    pub fn challenger_status(&self) -> Option<SlotStatus> {
        self.challenger.as_ref().map(ModelFile::status)
    }

    pub fn set_champion_scores(&self, q: Quality) {
        self.live.lock().unwrap_or_else(|e| e.into_inner()).champion = q;
    }

    pub fn set_challenger_scores(&self, q: Quality) {
        self.live.lock().unwrap_or_else(|e| e.into_inner()).challenger = q;
    }

    pub fn scores(&self) -> LiveScores {
        *self.live.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_default_beside_the_model_and_ranges_are_checked() {
        let c = LifecycleConfig::default();
        let model = Path::new("/m/model.onnx");
        assert_eq!(c.previous_file(model), PathBuf::from("/m/previous.onnx"));
        assert_eq!(c.audit_file(model), PathBuf::from("/m/lifecycle-audit.jsonl"));
        let baseline = Path::new("/m/baseline.onnx");
        let mut errors = Vec::new();
        c.validate(300, model, baseline, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        c.validate(100, model, baseline, &mut errors);
        assert_eq!(errors.len(), 1, "200 windows cannot fit a window of 100");
        let same = LifecycleConfig {
            challenger_path: "/m/model.onnx".into(),
            previous_path: "/m/baseline.onnx".into(),
            ..LifecycleConfig::default()
        };
        let mut errors = Vec::new();
        same.validate(300, model, baseline, &mut errors);
        let paths: Vec<_> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["lifecycle.previous_path", "lifecycle.challenger_path"]);
        let l = Lifecycle::disabled(model);
        assert!(l.challenger.is_none() && l.challenger_model().is_none());
    }
}
