//! Why a model was refused or failed.

/// Errors from loading, validating or running a model. [`ModelError::label`] gives a bounded
/// `error_type` metric label.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file could not be read or parsed as ONNX.
    #[error("model {path}: cannot load: {reason}")]
    Load {
        /// The file.
        path: String,
        /// tract's message.
        reason: String,
    },
    /// A required metadata property is absent.
    #[error("model metadata has no `{key}` property (was it exported by model/train.py?)")]
    MissingMetadata {
        /// The missing key.
        key: &'static str,
    },
    /// A metadata property is present but malformed.
    #[error("model metadata `{key}` is malformed: {reason}")]
    BadMetadata {
        /// The key.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The model was trained on another feature version.
    #[error(
        "model expects feature_version {model} but crates/features is at version {expected}: retrain or roll back"
    )]
    FeatureVersionMismatch {
        /// Version in the model.
        model: u32,
        /// Version of the running feature engine.
        expected: u32,
    },
    /// The model's feature list differs from the engine's.
    #[error(
        "model feature_names differ from crates/features at index {index}: model has {model:?}, engine has {expected:?} \
         ({model_len} vs {expected_len} features)"
    )]
    FeatureNamesMismatch {
        /// First differing position.
        index: usize,
        /// The model's name there (`None` past its end).
        model: Option<String>,
        /// The engine's name there (`None` past its end).
        expected: Option<String>,
        /// Length of the model's list.
        model_len: usize,
        /// Length of the engine's list.
        expected_len: usize,
    },
    /// The graph's inputs or outputs are not the agreed signature.
    #[error("model signature: {0}")]
    Signature(String),
    /// Running the model failed.
    #[error("model run failed: {0}")]
    Run(String),
}

impl ModelError {
    /// Bounded label for an `error_type` metric label.
    pub const fn label(&self) -> &'static str {
        match self {
            Self::Load { .. } => "load",
            Self::MissingMetadata { .. } | Self::BadMetadata { .. } => "metadata",
            Self::FeatureVersionMismatch { .. } => "feature_version",
            Self::FeatureNamesMismatch { .. } => "feature_names",
            Self::Signature(_) => "signature",
            Self::Run(_) => "run",
        }
    }
}
