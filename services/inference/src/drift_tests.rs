#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use model_meta::{FeatureBins, TrainingDistribution};

/// Deterministic roughly normal samples (sum of 12 uniforms from an LCG), scaled.
fn sample(n: usize, seed: u64, mean: f64, sd: f64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut uniform = move || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| mean + sd * ((0..12).map(|_| uniform()).sum::<f64>() - 6.0))
        .collect()
}

/// The same binning as `model/export.py::feature_distribution`: interior deciles (lower), ties
/// merged, an edge at the minimum dropped, shares of the rows per bin.
fn bins_of(col: &[f64]) -> FeatureBins {
    let mut sorted = col.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let mut edges: Vec<f64> = (1..10).map(|k| sorted[(k * (n - 1)) / 10]).collect();
    edges.dedup();
    edges.retain(|e| *e > sorted[0]);
    let mut b = FeatureBins {
        fractions: vec![0.0; edges.len() + 1],
        edges,
    };
    for &v in col {
        let i = b.bin(v);
        b.fractions[i] += 1.0 / n as f64;
    }
    b
}

/// Two features: 0 = continuous (normal), 1 = no reference (like `mid_price`), 2 = mostly zero.
fn training(n: usize) -> (Vec<Vec<f64>>, Arc<TrainingDistribution>) {
    let a = sample(n, 1, 0.0, 1.0);
    let c: Vec<f64> = sample(n, 2, 0.0, 1.0)
        .into_iter()
        .map(|v| if v < 0.5 { 0.0 } else { v })
        .collect();
    let rows: Vec<Vec<f64>> = (0..n).map(|i| vec![a[i], 60_000.0 + i as f64, c[i]]).collect();
    let dist = TrainingDistribution {
        by_feature: vec![Some(bins_of(&a)), None, Some(bins_of(&c))],
        n_rows: n as u64,
    };
    (rows, Arc::new(dist))
}

#[test]
fn psi_is_zero_on_the_training_distribution() {
    let (rows, dist) = training(900);
    let mut w = DriftWindow::new(900, 150);
    w.set_reference(Some(dist));
    for r in &rows {
        w.push(r);
    }
    assert_eq!(w.len(), 900);
    for f in [0, 2] {
        let p = w.psi(f).unwrap();
        assert!(p.abs() < 1e-9, "feature {f}: PSI {p} on the training rows");
    }
    assert_eq!(w.psi(1), None, "no reference for feature 1");
}

#[test]
fn psi_of_a_fresh_sample_of_the_same_population_stays_below_the_warning() {
    let (_, dist) = training(5000);
    let mut w = DriftWindow::new(900, 150);
    w.set_reference(Some(dist));
    for v in sample(900, 7, 0.0, 1.0) {
        w.push(&[v, 0.0, 0.0]);
    }
    let p = w.psi(0).unwrap();
    assert!(p < 0.1, "same population, PSI {p}");
}

#[test]
fn psi_crosses_the_alert_thresholds_on_a_shifted_population_and_recovers_as_the_window_rolls() {
    let (rows, dist) = training(900);
    let mut w = DriftWindow::new(900, 150);
    w.set_reference(Some(dist));
    // Half a standard deviation of shift: above the warning threshold (0.25)...
    for v in sample(900, 11, 0.75, 1.0) {
        w.push(&[v, 0.0, 3.0]);
    }
    let moderate = w.psi(0).unwrap();
    assert!(moderate > 0.25, "shift 0.75 sd: PSI {moderate}");
    // ... and a regime with twice the volatility, above the critical one (0.5).
    for v in sample(900, 12, 1.5, 2.0) {
        w.push(&[v, 0.0, 3.0]);
    }
    let critical = w.psi(0).unwrap();
    assert!(critical > 0.5 && critical > moderate, "shift: PSI {critical}");
    // A mostly-zero feature pinned at one non-zero value: one bin holds everything.
    assert!(w.psi(2).unwrap() > 0.5, "pinned feature: {:?}", w.psi(2));
    // The training population again for a full window: the shifted vectors have rolled out.
    for r in &rows {
        w.push(r);
    }
    assert!(w.psi(0).unwrap().abs() < 1e-9, "{:?}", w.psi(0));
}

#[test]
fn no_psi_before_min_samples_or_without_a_reference_and_a_new_model_restarts_the_window() {
    let (rows, dist) = training(300);
    let mut w = DriftWindow::new(900, 150);
    w.push(&rows[0]);
    assert!(w.is_empty(), "no reference: nothing kept");
    assert_eq!(w.psi(0), None);
    w.set_reference(Some(dist.clone()));
    for r in &rows[..149] {
        w.push(r);
    }
    assert_eq!(w.psi(0), None, "149 < min_samples");
    w.push(&rows[149]);
    assert!(w.psi(0).is_some());
    w.set_reference(Some(dist.clone()));
    assert_eq!(w.len(), 150, "same reference: window kept");
    let (_, other) = training(300);
    w.set_reference(Some(other));
    assert!(w.is_empty(), "another model: window restarts");
    w.push(&[0.0, 0.0]);
    assert!(w.is_empty(), "a vector of the wrong length is ignored");
    w.set_reference(None);
    assert_eq!(w.psi(0), None);
}

#[test]
fn psi_formula_matches_a_hand_computation_and_floors_empty_bins() {
    // train (0.5, 0.5), live (0.25, 0.75): 2 terms.
    let expected = (0.25f64 - 0.5) * (0.25f64 / 0.5).ln() + (0.75f64 - 0.5) * (0.75f64 / 0.5).ln();
    assert!((psi(&[0.5, 0.5], &[1, 3]) - expected).abs() < 1e-12);
    // Empty training bin with live mass: finite, large.
    let p = psi(&[0.0, 1.0], &[1, 1]);
    assert!(p.is_finite() && p > 2.0, "{p}");
    assert!(psi(&[0.5, 0.5], &[0, 0]).is_nan());
}
