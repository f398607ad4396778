//! Model slots (ML = champion, baseline, and the optional challenger of [`crate::lifecycle`]): load with tract after validating the ONNX metadata
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
    /// An optional slot's file is gone: the slot is now empty (no error).
    Removed,
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

/// One model file and the model loaded from it (swapped atomically).
#[derive(Debug)]
pub struct ModelFile {
    path: PathBuf,
    slot: RwLock<Slot>,
    /// A missing file empties the slot instead of being an error (the challenger).
    optional: bool,
}

impl ModelFile {
    pub fn new(path: PathBuf) -> Self {
        ModelFile {
            path,
            slot: RwLock::default(),
            optional: false,
        }
    }

    /// A slot whose file may be absent (absent = no model, not an error).
    pub fn optional(path: PathBuf) -> Self {
        ModelFile {
            optional: true,
            ..Self::new(path)
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The model of the slot (a cheap `Arc` clone under an uncontended read lock).
    pub fn get(&self) -> Option<Arc<LoadedModel>> {
        self.slot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .current
            .clone()
    }

    /// Loads the file when it changed since the last attempt (or always with `force`).
    /// Blocking: run with `spawn_blocking`.
    pub fn reload(&self, force: bool, now_us: i64) -> Reload {
        let now_stamp = stamp(&self.path);
        {
            let s = self.slot.read().unwrap_or_else(|e| e.into_inner());
            if !force && s.attempted == Some(now_stamp) {
                return Reload::Unchanged;
            }
        }
        if self.optional && now_stamp.is_none() {
            let mut s = self.slot.write().unwrap_or_else(|e| e.into_inner());
            s.attempted = Some(None);
            s.last_error = None;
            return match s.current.take() {
                Some(_) => Reload::Removed,
                None => Reload::Unchanged,
            };
        }
        let result = load(&self.path, now_us);
        let mut s = self.slot.write().unwrap_or_else(|e| e.into_inner());
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

    /// Serves `m` from now on (`None`: empties the slot) and takes the file as it is now on disk
    /// as already attempted, so the poller does not load it again. Returns the model replaced.
    pub fn install(&self, m: Option<Arc<LoadedModel>>) -> Option<Arc<LoadedModel>> {
        let now_stamp = stamp(&self.path);
        let mut s = self.slot.write().unwrap_or_else(|e| e.into_inner());
        s.attempted = Some(now_stamp);
        s.last_error = None;
        std::mem::replace(&mut s.current, m)
    }

    pub fn status(&self) -> SlotStatus {
        let s = self.slot.read().unwrap_or_else(|e| e.into_inner());
        let m = s.current.as_deref();
        SlotStatus {
            path: self.path.display().to_string(),
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

/// The two variant slots: ML (the champion) and baseline.
#[derive(Debug)]
pub struct ModelStore {
    ml: ModelFile,
    baseline: ModelFile,
}

impl ModelStore {
    pub fn new(ml_path: PathBuf, baseline_path: PathBuf) -> Self {
        ModelStore {
            ml: ModelFile::new(ml_path),
            baseline: ModelFile::new(baseline_path),
        }
    }

    pub fn file(&self, v: Variant) -> &ModelFile {
        match v {
            Variant::Ml => &self.ml,
            Variant::Baseline => &self.baseline,
        }
    }

    pub fn path(&self, v: Variant) -> &Path {
        self.file(v).path()
    }

    /// The serving model of a slot.
    pub fn get(&self, v: Variant) -> Option<Arc<LoadedModel>> {
        self.file(v).get()
    }

    /// See [`ModelFile::reload`].
    pub fn reload(&self, v: Variant, force: bool, now_us: i64) -> Reload {
        self.file(v).reload(force, now_us)
    }

    pub fn status(&self, v: Variant) -> SlotStatus {
        self.file(v).status()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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

    #[test]
    fn an_optional_slot_without_its_file_is_empty_not_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = ModelFile::optional(dir.path().join("challenger.onnx"));
        assert!(matches!(f.reload(false, 0), Reload::Unchanged));
        assert!(f.status().last_error.is_none() && f.get().is_none());
        std::fs::write(f.path(), b"not onnx").unwrap();
        assert!(matches!(f.reload(false, 0), Reload::Rejected(_)));
        std::fs::remove_file(f.path()).unwrap();
        assert!(matches!(f.reload(false, 0), Reload::Unchanged));
        assert!(f.status().last_error.is_none());
    }
}
