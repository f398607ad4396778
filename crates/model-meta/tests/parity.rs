//! tract runs the committed models exactly like onnxruntime did at export time (golden outputs), and
//! refuses a model whose feature metadata differs from crates/features.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use model_meta::{KEY_FEATURE_NAMES, KEY_FEATURE_VERSION, ModelError, PredictionModel, read_metadata};
use serde::Deserialize;
use tract_onnx::prelude::Framework;

#[derive(Deserialize)]
struct Golden {
    feature_names: Vec<String>,
    tolerance: f64,
    inputs: Vec<Vec<f32>>,
    outputs: std::collections::BTreeMap<String, GoldenOutputs>,
}

#[derive(Deserialize)]
struct GoldenOutputs {
    p_up: Vec<f64>,
    expected_return: Vec<f64>,
}

fn artifacts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../model/artifacts")
}

fn golden() -> Golden {
    let text = std::fs::read_to_string(artifacts().join("golden.json"))
        .expect("model/artifacts/golden.json is committed");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn tract_matches_onnxruntime_on_the_golden_rows_for_every_committed_model() {
    let g = golden();
    assert_eq!(g.feature_names, features::FEATURE_NAMES);
    assert!(g.tolerance <= 1e-5);
    assert!(g.outputs.len() >= 2, "model.onnx and baseline.onnx");
    for (file, want) in &g.outputs {
        let model = PredictionModel::load(&artifacts().join(file)).unwrap();
        assert_eq!(want.p_up.len(), g.inputs.len());
        let (mut worst_p, mut worst_r) = (0f64, 0f64);
        for (i, row) in g.inputs.iter().enumerate() {
            let got = model.predict(row).unwrap();
            let dp = (f64::from(got.p_up) - want.p_up[i]).abs();
            // expected_return is a fraction around 1e-5; compare it in basis points (x 1e4), which is
            // 10 000 times stricter than an absolute 1e-5 on the fraction.
            let dr = (f64::from(got.expected_return) - want.expected_return[i]).abs() * 1e4;
            worst_p = worst_p.max(dp);
            worst_r = worst_r.max(dr);
            assert!(
                dp <= g.tolerance,
                "{file} row {i}: p_up tract {} vs ort {}",
                got.p_up,
                want.p_up[i]
            );
            assert!(
                dr <= g.tolerance,
                "{file} row {i}: expected_return tract {} vs ort {}",
                got.expected_return,
                want.expected_return[i]
            );
        }
        println!(
            "{file}: {} rows, max |dp_up| {worst_p:.2e}, max |d expected_return| {worst_r:.2e} bp",
            g.inputs.len()
        );
    }
}

#[test]
fn every_committed_model_carries_the_feature_contract_and_a_variant() {
    // model.onnx carries the name of the candidate family the protocol picked (docs/model.md), which
    // is also the family its training_data names; baseline.onnx is always `baseline`.
    for (file, variant) in [("model.onnx", None), ("baseline.onnx", Some("baseline"))] {
        let model = PredictionModel::load(&artifacts().join(file)).unwrap();
        let info = model.info();
        assert_eq!(info.feature_version, features::FEATURE_VERSION);
        let training: serde_json::Value = serde_json::from_str(&info.properties["training_data"]).unwrap();
        let family = training["family"].as_str().unwrap();
        assert_eq!(info.variant.as_deref(), Some(variant.unwrap_or(family)));
        assert_eq!(training["synthetic_used"], serde_json::Value::Bool(false));
        assert!(info.created_at.is_some());
        assert!(info.properties.contains_key("training_data"));
        assert!(info.properties.contains_key("metrics"));
        assert_eq!(model.n_features(), features::N_FEATURES);
    }
}

#[test]
fn the_committed_model_is_small_enough_to_ship() {
    let bytes = std::fs::metadata(artifacts().join("model.onnx")).unwrap().len();
    assert!(bytes < 5 * 1024 * 1024, "{bytes} bytes");
}

#[test]
fn a_model_whose_feature_metadata_differs_is_refused_before_a_plan_is_built() {
    let path = artifacts().join("model.onnx");
    let mut proto = tract_onnx::onnx().proto_model_for_path(&path).unwrap();
    for entry in &mut proto.metadata_props {
        if entry.key == KEY_FEATURE_NAMES {
            entry.value = entry.value.replacen("spread_bps", "spread_ticks", 1);
        }
    }
    let err = PredictionModel::from_proto(&proto, &path).unwrap_err();
    assert!(
        matches!(err, ModelError::FeatureNamesMismatch { index: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("spread_ticks"), "{err}");

    for entry in &mut proto.metadata_props {
        if entry.key == KEY_FEATURE_VERSION {
            entry.value = "0".into();
        }
    }
    let err = PredictionModel::from_proto(&proto, &path).unwrap_err();
    assert!(
        matches!(err, ModelError::FeatureVersionMismatch { model: 0, .. }),
        "{err}"
    );
}

#[test]
fn read_metadata_returns_the_properties_without_building_a_plan() {
    let props = read_metadata(&artifacts().join("baseline.onnx")).unwrap();
    let names: Vec<String> = serde_json::from_str(&props[KEY_FEATURE_NAMES]).unwrap();
    assert_eq!(names, features::FEATURE_NAMES);
}

#[test]
fn a_missing_file_is_a_load_error_and_a_wrong_row_length_a_run_error() {
    let err = PredictionModel::load(Path::new("/nonexistent/model.onnx")).unwrap_err();
    assert_eq!(err.label(), "load");
    let model = PredictionModel::load(&artifacts().join("baseline.onnx")).unwrap();
    assert_eq!(model.predict(&[0.0; 3]).unwrap_err().label(), "run");
}
