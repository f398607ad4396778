//! The training distribution of each feature, carried in the model's metadata so the inference
//! service can measure live drift (population stability index) against it.
//!
//! Metadata key [`KEY_FEATURE_DISTRIBUTION`] (optional: models exported before it have none), a JSON
//! object written by `model/export.py`:
//!
//! ```json
//! {"method": "quantile", "n_rows": 2645,
//!  "features": [{"name": "microprice_dev_bps", "edges": [-0.8, -0.2, 0.0, 0.3], "fractions": [0.1, 0.2, 0.3, 0.2, 0.2]}, ...]}
//! ```
//!
//! `edges` are strictly increasing finite cut points (training quantiles, ties merged); value `v`
//! falls in bin `i` = number of edges `<= v` ([`FeatureBins::bin`]), so there are `edges.len() + 1`
//! bins and `fractions[i]` is the share of training rows in bin `i`. Features are listed in the
//! feature contract's order; features the exporter leaves out (the price level `mid_price`) have
//! no drift reference.

use std::collections::BTreeMap;

use crate::error::ModelError;

/// Per-feature training distribution (JSON object, optional).
pub const KEY_FEATURE_DISTRIBUTION: &str = "feature_distribution";

/// Largest number of bins accepted per feature.
pub const MAX_BINS: usize = 64;

/// Quantile bins of one feature.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureBins {
    /// Strictly increasing cut points.
    pub edges: Vec<f64>,
    /// Training share of each of the `edges.len() + 1` bins (sums to 1).
    pub fractions: Vec<f64>,
}

impl FeatureBins {
    /// The bin of `v`: the number of edges `<= v` (`NaN` falls in the last bin, like `+inf`).
    pub fn bin(&self, v: f64) -> usize {
        if v.is_nan() {
            return self.edges.len();
        }
        self.edges.partition_point(|e| *e <= v)
    }
}

/// The training distribution of the features a model declares, by feature index.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingDistribution {
    /// `by_feature[i]`: bins of feature `i` of the contract, `None` when the model has none for it.
    pub by_feature: Vec<Option<FeatureBins>>,
    /// Training rows the bins were computed from.
    pub n_rows: u64,
}

fn bad(reason: String) -> ModelError {
    ModelError::BadMetadata {
        key: KEY_FEATURE_DISTRIBUTION,
        reason,
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeature {
    name: String,
    edges: Vec<f64>,
    fractions: Vec<f64>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    method: String,
    n_rows: u64,
    features: Vec<RawFeature>,
}

fn check_bins(f: &RawFeature) -> Result<FeatureBins, ModelError> {
    let name = &f.name;
    if f.edges.iter().any(|e| !e.is_finite()) {
        return Err(bad(format!("{name}: edges must be finite")));
    }
    if f.edges.windows(2).any(|w| w[0] >= w[1]) {
        return Err(bad(format!("{name}: edges must be strictly increasing")));
    }
    if f.fractions.len() != f.edges.len() + 1 || f.fractions.len() > MAX_BINS {
        return Err(bad(format!(
            "{name}: {} fractions for {} edges (expected edges + 1, at most {MAX_BINS} bins)",
            f.fractions.len(),
            f.edges.len()
        )));
    }
    if f.fractions.iter().any(|p| !(0.0..=1.0).contains(p)) {
        return Err(bad(format!("{name}: fractions must lie in [0, 1]")));
    }
    let sum: f64 = f.fractions.iter().sum();
    if (sum - 1.0).abs() > 1e-3 {
        return Err(bad(format!("{name}: fractions sum to {sum}, not 1")));
    }
    Ok(FeatureBins {
        edges: f.edges.clone(),
        fractions: f.fractions.clone(),
    })
}

/// Parses [`KEY_FEATURE_DISTRIBUTION`]: `Ok(None)` when absent (older models), an error when
/// malformed or naming a feature outside `feature_names` (the contract the model was validated on).
pub fn parse_feature_distribution(
    props: &BTreeMap<String, String>,
    feature_names: &[&str],
) -> Result<Option<TrainingDistribution>, ModelError> {
    let Some(text) = props.get(KEY_FEATURE_DISTRIBUTION) else {
        return Ok(None);
    };
    let raw: Raw =
        serde_json::from_str(text).map_err(|e| bad(format!("not the expected JSON object ({e})")))?;
    if raw.method != "quantile" {
        return Err(bad(format!(
            "unknown method {:?} (expected \"quantile\")",
            raw.method
        )));
    }
    let mut by_feature: Vec<Option<FeatureBins>> = vec![None; feature_names.len()];
    for f in &raw.features {
        let Some(i) = feature_names.iter().position(|n| *n == f.name) else {
            return Err(bad(format!(
                "feature {:?} is not in the feature contract",
                f.name
            )));
        };
        if by_feature[i].is_some() {
            return Err(bad(format!("feature {:?} is listed twice", f.name)));
        }
        by_feature[i] = Some(check_bins(f)?);
    }
    Ok(Some(TrainingDistribution {
        by_feature,
        n_rows: raw.n_rows,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const NAMES: &[&str] = &["a", "b", "c"];

    fn props(json: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(KEY_FEATURE_DISTRIBUTION.to_string(), json.to_string())])
    }

    fn reason(json: &str) -> String {
        match parse_feature_distribution(&props(json), NAMES) {
            Err(ModelError::BadMetadata { key, reason }) => {
                assert_eq!(key, KEY_FEATURE_DISTRIBUTION);
                reason
            }
            other => panic!("expected BadMetadata, got {other:?}"),
        }
    }

    #[test]
    fn absent_is_none_for_older_models() {
        assert_eq!(parse_feature_distribution(&BTreeMap::new(), NAMES).unwrap(), None);
    }

    #[test]
    fn parses_bins_by_contract_index() {
        let d = parse_feature_distribution(
            &props(
                r#"{"method":"quantile","n_rows":10,"features":[
                {"name":"c","edges":[0.0,1.0],"fractions":[0.2,0.5,0.3]},
                {"name":"a","edges":[],"fractions":[1.0]}]}"#,
            ),
            NAMES,
        )
        .unwrap()
        .unwrap();
        assert_eq!(d.n_rows, 10);
        assert!(d.by_feature[1].is_none());
        let c = d.by_feature[2].as_ref().unwrap();
        assert_eq!(
            (c.bin(-5.0), c.bin(0.0), c.bin(0.5), c.bin(1.0), c.bin(9.0)),
            (0, 1, 1, 2, 2)
        );
        assert_eq!(c.bin(f64::NAN), 2);
        assert_eq!(d.by_feature[0].as_ref().unwrap().bin(3.0), 0);
    }

    #[test]
    fn malformed_distributions_are_refused_with_a_reason() {
        assert!(reason("[1,2]").contains("JSON object"));
        assert!(reason(r#"{"method":"kde","n_rows":1,"features":[]}"#).contains("unknown method"));
        let one = |edges: &str, fr: &str| {
            format!(
                r#"{{"method":"quantile","n_rows":1,"features":[{{"name":"a","edges":{edges},"fractions":{fr}}}]}}"#
            )
        };
        assert!(reason(&one("[1.0,1.0]", "[0.5,0.0,0.5]")).contains("strictly increasing"));
        assert!(reason(&one("[1.0]", "[1.0]")).contains("expected edges + 1"));
        assert!(reason(&one("[1.0]", "[0.5,0.6]")).contains("sum to"));
        assert!(reason(&one("[1.0]", "[-0.5,1.5]")).contains("[0, 1]"));
        assert!(
            reason(
                r#"{"method":"quantile","n_rows":1,"features":[{"name":"zz","edges":[],"fractions":[1.0]}]}"#
            )
            .contains("not in the feature contract")
        );
        assert!(
            reason(
                r#"{"method":"quantile","n_rows":1,"features":[
                {"name":"a","edges":[],"fractions":[1.0]},{"name":"a","edges":[],"fractions":[1.0]}]}"#
            )
            .contains("twice")
        );
    }
}
