//! The model contract between `model/` (Python training and ONNX export) and the inference service.
//!
//! * [`validate_model_metadata`] — refuses (with a clear [`ModelError`]) a model whose `feature_version` or
//!   `feature_names` metadata differs from `crates/features`. Pure: takes the ONNX `metadata_props`.
//! * [`read_metadata`] / [`PredictionModel::load`] — read the properties of an ONNX file, validate them,
//!   and only then build a tract plan for one row (`features` `[1, F]` → `p_up`, `expected_return`).
//!
//! Metadata keys (see `docs/model.md`): `feature_names` (JSON list), `feature_version`, `model_variant`,
//! `training_data`, `created_at`, `metrics` (JSON object), `feature_distribution` (optional JSON object:
//! per-feature training quantile bins, [`distribution`]).

pub mod distribution;
pub mod error;
pub mod meta;
pub mod model;

pub use distribution::{
    FeatureBins, KEY_FEATURE_DISTRIBUTION, TrainingDistribution, parse_feature_distribution,
};
pub use error::ModelError;
pub use meta::{
    KEY_CREATED_AT, KEY_FEATURE_NAMES, KEY_FEATURE_VERSION, KEY_METRICS, KEY_MODEL_VARIANT,
    KEY_TRAINING_DATA, ModelInfo, validate_metadata_against, validate_model_metadata,
};
pub use model::{
    INPUT_NAME, OUTPUT_EXPECTED_RETURN, OUTPUT_P_UP, Prediction, PredictionModel, read_metadata,
};
