//! The two model slots (ML and baseline): load with tract after validating the ONNX metadata
//! against crates/features (`model_meta`), swap atomically on reload, and keep the previous model
//! when a new file is refused. Loading blocks (tract optimises the graph): call it off the executor.

use crate::config::Variant;
use model_meta::{ModelError, PredictionModel, TrainingDistribution};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

/// What identifies a version of a file on disk without reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileStamp {
    pub modified: SystemTime,
    pub len: u64,
}

pub fn stamp(path: &Path) -> Option<FileStamp> {
    let m = std::fs::metadata(path).ok()?;
    Some(FileStamp {
        modified: m.modified().ok()?,
        len: m.len(),
    })
}

/// A validated, optimised model.
#[derive(Debug)]
pub struct LoadedModel {
    pub model: PredictionModel,
    /// `<model_variant metadata>-<first 8 hex of the file's FNV-1a hash>`, e.g. `mlp-3f2a9c1e`.
    pub version: String,
    pub path: PathBuf,
    pub created_at: Option<String>,
    pub loaded_at_us: i64,
    /// Per-feature training distribution (metadata `feature_distribution`; `None` for older models):
    /// the reference of the live drift PSI ([`crate::drift`]).
    pub distribution: Option<Arc<TrainingDistribution>>,
}

/// FNV-1a 64 (stable across builds, unlike `DefaultHasher`).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Loads and validates `path` (blocking).
pub fn load(path: &Path, now_us: i64) -> Result<LoadedModel, ModelError> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::Load {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let model = PredictionModel::load(path)?;
    let info = model.info();
    let kind = info.variant.clone().unwrap_or_else(|| "model".into());
    // A malformed distribution means a broken export: refuse the model like other bad metadata.
    let distribution =
        model_meta::parse_feature_distribution(&info.properties, features::FEATURE_NAMES)?.map(Arc::new);
    Ok(LoadedModel {
        distribution,
        version: format!("{kind}-{:08x}", fnv1a(&bytes) >> 32),
        created_at: info.created_at.clone(),
        path: path.to_path_buf(),
        loaded_at_us: now_us,
        model,
    })
}

#[derive(Debug, Default)]
struct Slot {
    current: Option<Arc<LoadedModel>>,
    /// Why the latest attempt was refused (cleared by a success).
    last_error: Option<String>,
    /// Stamp of the file at the latest attempt (success or not; `Some(None)`: it was missing).
    attempted: Option<Option<FileStamp>>,
}

/// Outcome of a (re)load attempt.
#[derive(Debug)]
pub enum Reload {
    /// The file has not changed since the last attempt.
    Unchanged,
    Loaded(Arc<LoadedModel>),
    /// Refused; the previous model (if any) keeps serving.
    Rejected(ModelError),
}

/// What `/v1/model` and `/health` say about a slot.
#[derive(Clone, Debug, Serialize)]
pub struct SlotStatus {
    pub path: String,
    pub loaded: bool,
    pub version: Option<String>,
    pub created_at: Option<String>,
    pub feature_version: Option<u32>,
    pub n_features: Option<usize>,
    pub loaded_at_us: Option<i64>,
    pub last_error: Option<String>,
}

#[derive(Debug)]
pub struct ModelStore {
    ml: (PathBuf, RwLock<Slot>),
    baseline: (PathBuf, RwLock<Slot>),
}

impl ModelStore {
    pub fn new(ml_path: PathBuf, baseline_path: PathBuf) -> Self {
        ModelStore {
            ml: (ml_path, RwLock::default()),
            baseline: (baseline_path, RwLock::default()),
        }
    }

    fn slot(&self, v: Variant) -> &(PathBuf, RwLock<Slot>) {
        match v {
            Variant::Ml => &self.ml,
            Variant::Baseline => &self.baseline,
        }
    }

    pub fn path(&self, v: Variant) -> &Path {
        &self.slot(v).0
    }

    /// The serving model of a slot (a cheap `Arc` clone under an uncontended read lock).
    pub fn get(&self, v: Variant) -> Option<Arc<LoadedModel>> {
        let s = self.slot(v).1.read().unwrap_or_else(|e| e.into_inner());
        s.current.clone()
    }

    /// Loads the slot's file when it changed since the last attempt (or always with `force`).
    /// Blocking: run with `spawn_blocking`.
    pub fn reload(&self, v: Variant, force: bool, now_us: i64) -> Reload {
        let (path, lock) = self.slot(v);
        let now_stamp = stamp(path);
        {
            let s = lock.read().unwrap_or_else(|e| e.into_inner());
            if !force && s.attempted == Some(now_stamp) {
                return Reload::Unchanged;
            }
        }
        let result = load(path, now_us);
        let mut s = lock.write().unwrap_or_else(|e| e.into_inner());
        s.attempted = Some(now_stamp);
        match result {
            Ok(m) => {
                let m = Arc::new(m);
                s.current = Some(m.clone());
                s.last_error = None;
                Reload::Loaded(m)
            }
            Err(e) => {
                s.last_error = Some(e.to_string());
                Reload::Rejected(e)
            }
        }
    }

    pub fn status(&self, v: Variant) -> SlotStatus {
        let (path, lock) = self.slot(v);
        let s = lock.read().unwrap_or_else(|e| e.into_inner());
        let m = s.current.as_deref();
        SlotStatus {
            path: path.display().to_string(),
            loaded: m.is_some(),
            version: m.map(|m| m.version.clone()),
            created_at: m.and_then(|m| m.created_at.clone()),
            feature_version: m.map(|m| m.model.info().feature_version),
            n_features: m.map(|m| m.model.n_features()),
            loaded_at_us: m.map(|m| m.loaded_at_us),
            last_error: s.last_error.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn a_missing_file_is_rejected_and_then_unchanged_until_it_appears() {
        let dir = std::env::temp_dir().join(format!("inference-models-{}", std::process::id()));
        let store = ModelStore::new(dir.join("none.onnx"), dir.join("none2.onnx"));
        assert!(matches!(store.reload(Variant::Ml, false, 0), Reload::Rejected(_)));
        assert!(matches!(store.reload(Variant::Ml, false, 0), Reload::Unchanged));
        assert!(matches!(store.reload(Variant::Ml, true, 0), Reload::Rejected(_)));
        let st = store.status(Variant::Ml);
        assert!(!st.loaded);
        assert!(st.last_error.is_some_and(|e| e.contains("none.onnx")));
        assert!(store.get(Variant::Ml).is_none());
    }
}
