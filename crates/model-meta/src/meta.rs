//! Metadata validation: the model must carry the feature list and version of `crates/features`.

use std::collections::BTreeMap;

use features::{FEATURE_NAMES, FEATURE_VERSION};

use crate::error::ModelError;

/// JSON list of input feature names, in column order.
pub const KEY_FEATURE_NAMES: &str = "feature_names";
/// `features::FEATURE_VERSION` the model was trained on (decimal string).
pub const KEY_FEATURE_VERSION: &str = "feature_version";
/// `mlp` or `baseline` (optional).
pub const KEY_MODEL_VARIANT: &str = "model_variant";
/// JSON description of the training data (optional).
pub const KEY_TRAINING_DATA: &str = "training_data";
/// RFC 3339 creation time (optional).
pub const KEY_CREATED_AT: &str = "created_at";
/// JSON object of headline metrics (optional).
pub const KEY_METRICS: &str = "metrics";

/// What a validated model declares about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// Feature version (equal to `features::FEATURE_VERSION` once validated).
    pub feature_version: u32,
    /// Feature names (equal to `features::FEATURE_NAMES` once validated).
    pub feature_names: Vec<String>,
    /// `model_variant`, when present.
    pub variant: Option<String>,
    /// `created_at`, when present.
    pub created_at: Option<String>,
    /// Every metadata property, for `/health` and logs.
    pub properties: BTreeMap<String, String>,
}

/// Validates ONNX `metadata_props` against the running feature engine (`features::FEATURE_VERSION`,
/// `features::FEATURE_NAMES`). The inference service calls this before building a plan.
pub fn validate_model_metadata(props: &BTreeMap<String, String>) -> Result<ModelInfo, ModelError> {
    validate_metadata_against(props, FEATURE_VERSION, FEATURE_NAMES)
}

/// [`validate_model_metadata`] against an explicit feature version and list.
pub fn validate_metadata_against(
    props: &BTreeMap<String, String>,
    expected_version: u32,
    expected_names: &[&str],
) -> Result<ModelInfo, ModelError> {
    let get = |key: &'static str| {
        props
            .get(key)
            .map(String::as_str)
            .ok_or(ModelError::MissingMetadata { key })
    };
    let version_text = get(KEY_FEATURE_VERSION)?;
    let feature_version = version_text
        .trim()
        .parse::<u32>()
        .map_err(|e| ModelError::BadMetadata {
            key: KEY_FEATURE_VERSION,
            reason: format!("{version_text:?} is not an unsigned integer ({e})"),
        })?;
    let feature_names: Vec<String> =
        serde_json::from_str(get(KEY_FEATURE_NAMES)?).map_err(|e| ModelError::BadMetadata {
            key: KEY_FEATURE_NAMES,
            reason: format!("expected a JSON list of strings ({e})"),
        })?;
    if feature_version != expected_version {
        return Err(ModelError::FeatureVersionMismatch {
            model: feature_version,
            expected: expected_version,
        });
    }
    if let Some(index) = first_difference(&feature_names, expected_names) {
        return Err(ModelError::FeatureNamesMismatch {
            index,
            model: feature_names.get(index).cloned(),
            expected: expected_names.get(index).map(|s| (*s).to_string()),
            model_len: feature_names.len(),
            expected_len: expected_names.len(),
        });
    }
    Ok(ModelInfo {
        feature_version,
        feature_names,
        variant: props.get(KEY_MODEL_VARIANT).cloned(),
        created_at: props.get(KEY_CREATED_AT).cloned(),
        properties: props.clone(),
    })
}

fn first_difference(model: &[String], expected: &[&str]) -> Option<usize> {
    let n = model.len().max(expected.len());
    (0..n).find(|&i| model.get(i).map(String::as_str) != expected.get(i).copied())
}

#[cfg(test)]
mod tests;
