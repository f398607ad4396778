//! Live probabilistic quality of one model over the evaluator's rolling window (issue 17 item 2):
//! directional accuracy on moved windows, log-loss, Brier score and expected calibration error of
//! `p_up` against the realised direction, and the counts they rest on. Pure.
//!
//! Only moved windows (|10 s return| ≥ [`FLAT_RETURN`], as in training) have a direction, so all four
//! scores are computed on them; `scored` counts every scored prediction, `moved` the ones used.

use crate::evaluation::FLAT_RETURN;

/// `p_up` is clipped to [EPS, 1 − EPS] for the log-loss (a confident miss costs ln(1/EPS) ≈ 13.8, not ∞).
pub const EPS: f64 = 1e-6;
/// Equal-width `p_up` bins of the expected calibration error.
pub const ECE_BINS: usize = 10;

#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Quality {
    /// Scored predictions in the window (moved or flat).
    pub scored: usize,
    /// Moved windows among them (the scores below rest on these).
    pub moved: usize,
    pub accuracy: Option<f64>,
    pub log_loss: Option<f64>,
    pub brier: Option<f64>,
    /// Σ_bins (n_b / n) · |mean p_up − share up| over [`ECE_BINS`] bins of `p_up`.
    pub calibration_error: Option<f64>,
}

/// Scores `(p_up, realised return)` pairs; the scores are `None` below `min_moved` moved windows.
pub fn quality(outcomes: impl Iterator<Item = (f64, f64)>, min_moved: usize) -> Quality {
    let mut q = Quality::default();
    let (mut hits, mut ll, mut brier) = (0usize, 0.0, 0.0);
    let mut bins = [(0usize, 0.0f64, 0usize); ECE_BINS];
    for (p, r) in outcomes {
        q.scored += 1;
        if r.abs() < FLAT_RETURN || !p.is_finite() {
            continue;
        }
        q.moved += 1;
        let up = r > 0.0;
        let y = if up { 1.0 } else { 0.0 };
        if (p > 0.5) == up {
            hits += 1;
        }
        let pc = p.clamp(EPS, 1.0 - EPS);
        ll -= y * pc.ln() + (1.0 - y) * (1.0 - pc).ln();
        brier += (p - y) * (p - y);
        let b = ((p.clamp(0.0, 1.0) * ECE_BINS as f64) as usize).min(ECE_BINS - 1);
        bins[b].0 += 1;
        bins[b].1 += p;
        bins[b].2 += usize::from(up);
    }
    if q.moved >= min_moved.max(1) {
        let n = q.moved as f64;
        q.accuracy = Some(hits as f64 / n);
        q.log_loss = Some(ll / n);
        q.brier = Some(brier / n);
        q.calibration_error = Some(
            bins.iter()
                .filter(|b| b.0 > 0)
                .map(|&(k, sum_p, ups)| {
                    let k = k as f64;
                    (k / n) * (sum_p / k - ups as f64 / k).abs()
                })
                .sum(),
        );
    }
    q
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const UP: f64 = 1e-4;
    const DOWN: f64 = -1e-4;
    const FLAT: f64 = 1e-5;

    #[test]
    fn scores_match_a_hand_computation_and_flat_windows_are_left_out() {
        // p 0.8 up (hit), 0.8 down (miss), 0.3 down (hit), 0.6 flat (ignored).
        let q = quality([(0.8, UP), (0.8, DOWN), (0.3, DOWN), (0.6, FLAT)].into_iter(), 1);
        assert_eq!((q.scored, q.moved), (4, 3));
        assert!((q.accuracy.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        let ll = -(0.8f64.ln() + 0.2f64.ln() + 0.7f64.ln()) / 3.0;
        assert!((q.log_loss.unwrap() - ll).abs() < 1e-12, "{q:?}");
        let brier = (0.04 + 0.64 + 0.09) / 3.0;
        assert!((q.brier.unwrap() - brier).abs() < 1e-12);
        // Bins: [0.3,0.4) one down (|0.3 − 0| · 1/3), [0.8,0.9) one up one down (|0.8 − 0.5| · 2/3).
        let ece = 0.3 / 3.0 + 0.3 * 2.0 / 3.0;
        assert!((q.calibration_error.unwrap() - ece).abs() < 1e-12, "{q:?}");
    }

    #[test]
    fn a_coin_flip_scores_ln2_and_a_quarter_and_a_confident_miss_stays_finite() {
        let q = quality([(0.5, UP), (0.5, DOWN)].into_iter(), 1);
        assert!((q.log_loss.unwrap() - std::f64::consts::LN_2).abs() < 1e-12);
        assert!((q.brier.unwrap() - 0.25).abs() < 1e-12);
        assert_eq!(q.calibration_error, Some(0.0));
        let miss = quality([(1.0, DOWN)].into_iter(), 1);
        assert!(miss.log_loss.unwrap().is_finite() && miss.log_loss.unwrap() > 13.0);
        assert_eq!(miss.brier, Some(1.0));
    }

    #[test]
    fn no_scores_below_min_moved() {
        let q = quality([(0.7, UP), (0.7, FLAT), (0.7, FLAT)].into_iter(), 2);
        assert_eq!((q.scored, q.moved, q.accuracy, q.log_loss), (3, 1, None, None));
        assert_eq!(quality(std::iter::empty(), 1), Quality::default());
    }
}
