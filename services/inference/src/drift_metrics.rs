//! Glue between [`crate::drift`] and the metrics: which contract feature is which bounded `feature`
//! label, and the per-tick update of `inference_feature_drift_psi{feature}` and
//! `inference_feature_drift_window_vectors`.

use crate::drift::{DEFAULT_MIN_SAMPLES, DEFAULT_WINDOW, DriftWindow};
use metrics_schema::InferenceMetrics;
use metrics_schema::labels::{DriftFeature, LabelValue};
use metrics_schema::services::inference::DriftLabels;
use model_meta::TrainingDistribution;
use std::sync::Arc;

/// The `feature` label of contract feature `index` (`None` for features without a drift label:
/// the price level `mid_price`).
pub fn drift_label(index: usize) -> Option<DriftFeature> {
    let name = features::FEATURE_NAMES.get(index)?;
    DriftFeature::ALL.iter().copied().find(|f| f.as_str() == *name)
}

pub struct DriftMonitor {
    window: DriftWindow,
    labels: Vec<(usize, DriftFeature)>,
}

impl Default for DriftMonitor {
    fn default() -> Self {
        Self::new(DEFAULT_WINDOW, DEFAULT_MIN_SAMPLES)
    }
}

impl DriftMonitor {
    pub fn new(window: usize, min_samples: usize) -> Self {
        DriftMonitor {
            window: DriftWindow::new(window, min_samples),
            labels: (0..features::N_FEATURES)
                .filter_map(|i| drift_label(i).map(|l| (i, l)))
                .collect(),
        }
    }

    /// One tick: `reference` is the ML model's training distribution (if it has one), `live` the
    /// vector the tick used when it was usable (fresh, complete, contract-valid), else `None`.
    pub fn record(
        &mut self,
        reference: Option<Arc<TrainingDistribution>>,
        live: Option<&[f64]>,
        m: &InferenceMetrics,
    ) {
        self.window.set_reference(reference);
        if let Some(values) = live {
            self.window.push(values);
        }
        m.feature_drift_window.set(self.window.len() as f64);
        for &(index, feature) in &self.labels {
            let v = self.window.psi(index).unwrap_or(f64::NAN);
            m.feature_drift_psi.get_or_create(&DriftLabels { feature }).set(v);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn every_drift_label_is_a_scale_free_contract_feature_and_back() {
        let labelled: Vec<&str> = (0..features::N_FEATURES)
            .filter_map(drift_label)
            .map(|l| l.as_str())
            .collect();
        let scale_free: Vec<&str> = features::FEATURES
            .iter()
            .filter(|f| f.scale_free)
            .map(|f| f.name)
            .collect();
        assert_eq!(labelled, scale_free);
        assert_eq!(
            DriftFeature::ALL.len(),
            labelled.len(),
            "a label outside the contract"
        );
        assert_eq!(drift_label(features::spec::idx::MID_PRICE), None);
    }
}
