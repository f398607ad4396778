//! The committed models carry the per-feature training distribution that `model/export.py` writes,
//! in the shape `parse_feature_distribution` accepts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use features::{FEATURE_NAMES, FEATURES};
use model_meta::{parse_feature_distribution, read_metadata};

fn artifacts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../model/artifacts")
}

#[test]
fn every_committed_model_carries_a_valid_training_distribution_for_each_scale_free_feature() {
    for file in ["model.onnx", "baseline.onnx"] {
        let props = read_metadata(&artifacts().join(file)).unwrap();
        let dist = parse_feature_distribution(&props, FEATURE_NAMES)
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .unwrap_or_else(|| panic!("{file}: no feature_distribution (rerun `make train`)"));
        assert!(dist.n_rows > 1000, "{file}: {} training rows", dist.n_rows);
        for (spec, bins) in FEATURES.iter().zip(&dist.by_feature) {
            assert_eq!(bins.is_some(), spec.scale_free, "{file}: {}", spec.name);
            if let Some(b) = bins {
                // Deciles with ties merged: at least two bins, at most ten.
                assert!(
                    (2..=10).contains(&b.fractions.len()),
                    "{file}: {} {:?}",
                    spec.name,
                    b
                );
            }
        }
    }
}
