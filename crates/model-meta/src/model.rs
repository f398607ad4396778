//! Loading an ONNX model with tract after validating its metadata, and running it on one feature row.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::*;

use crate::error::ModelError;
use crate::meta::{ModelInfo, validate_model_metadata};

/// Name of the single input: float32 `[N, F]` in `FEATURE_NAMES` order.
pub const INPUT_NAME: &str = "features";
/// Output: probability that the 10 s mid return is up (given that it moves), `[N, 1]`.
pub const OUTPUT_P_UP: &str = "p_up";
/// Output: expected 10 s mid return as a fraction (not bps), `[N, 1]`.
pub const OUTPUT_EXPECTED_RETURN: &str = "expected_return";

/// One prediction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// P(up | the mid moves by at least the flat threshold).
    pub p_up: f32,
    /// Expected `mid(t+10 s) / mid(t) − 1`.
    pub expected_return: f32,
}

/// A validated model with a tract plan for one row.
#[derive(Debug, Clone)]
pub struct PredictionModel {
    info: ModelInfo,
    plan: Arc<TypedRunnableModel>,
    n_features: usize,
    p_up_index: usize,
    return_index: usize,
}

fn load_error(path: &Path, e: impl std::fmt::Display) -> ModelError {
    ModelError::Load {
        path: path.display().to_string(),
        reason: format!("{e:#}"),
    }
}

fn metadata_of(proto: &ModelProto) -> BTreeMap<String, String> {
    proto
        .metadata_props
        .iter()
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect()
}

/// Reads the `metadata_props` of an ONNX file without building a plan.
pub fn read_metadata(path: &Path) -> Result<BTreeMap<String, String>, ModelError> {
    let proto = onnx()
        .proto_model_for_path(path)
        .map_err(|e| load_error(path, e))?;
    Ok(metadata_of(&proto))
}

impl PredictionModel {
    /// Reads `path`, refuses it unless its metadata matches `crates/features` and its graph has the agreed
    /// signature, then optimises it for one row.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let proto = onnx()
            .proto_model_for_path(path)
            .map_err(|e| load_error(path, e))?;
        Self::from_proto(&proto, path)
    }

    /// [`Self::load`] from an already parsed ONNX protobuf (`origin` only labels errors).
    pub fn from_proto(proto: &ModelProto, origin: &Path) -> Result<Self, ModelError> {
        let path = origin;
        let onnx = onnx();
        let info = validate_model_metadata(&metadata_of(proto))?;
        let graph = proto
            .graph
            .as_ref()
            .ok_or_else(|| ModelError::Signature("no graph".into()))?;
        let inputs: Vec<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
        if inputs != [INPUT_NAME] {
            return Err(ModelError::Signature(format!(
                "expected one input {INPUT_NAME:?}, found {inputs:?}"
            )));
        }
        let outputs: Vec<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
        let index_of = |name: &str| {
            outputs
                .iter()
                .position(|o| *o == name)
                .ok_or_else(|| ModelError::Signature(format!("no output {name:?} among {outputs:?}")))
        };
        let (p_up_index, return_index) = (index_of(OUTPUT_P_UP)?, index_of(OUTPUT_EXPECTED_RETURN)?);
        let n_features = info.feature_names.len();
        let plan = onnx
            .model_for_proto_model(proto)
            .and_then(|m| m.with_input_fact(0, f32::fact([1, n_features]).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| load_error(path, e))?;
        Ok(Self {
            info,
            plan,
            n_features,
            p_up_index,
            return_index,
        })
    }

    /// What the model declares about itself.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Runs the model on one row (`FEATURE_NAMES` order).
    pub fn predict(&self, row: &[f32]) -> Result<Prediction, ModelError> {
        if row.len() != self.n_features {
            return Err(ModelError::Run(format!(
                "expected {} features, got {}",
                self.n_features,
                row.len()
            )));
        }
        let input =
            Tensor::from_shape(&[1, self.n_features], row).map_err(|e| ModelError::Run(e.to_string()))?;
        let outputs = self
            .plan
            .run(tvec!(input.into()))
            .map_err(|e| ModelError::Run(format!("{e:#}")))?;
        let scalar = |i: usize| -> Result<f32, ModelError> {
            let t = outputs
                .get(i)
                .ok_or_else(|| ModelError::Run(format!("missing output {i}")))?;
            let view = t
                .to_plain_array_view::<f32>()
                .map_err(|e| ModelError::Run(e.to_string()))?;
            view.iter()
                .next()
                .copied()
                .ok_or_else(|| ModelError::Run(format!("output {i} is empty")))
        };
        Ok(Prediction {
            p_up: scalar(self.p_up_index)?,
            expected_return: scalar(self.return_index)?,
        })
    }
}
