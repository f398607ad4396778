//! Live feature drift: the population stability index (PSI) of each feature over a rolling window of
//! the live vectors the service predicted on, against the training distribution in the model's
//! metadata (`model_meta::TrainingDistribution`, quantile bins written by `model/export.py`).
//!
//! `PSI = Σ_bins (live − train) · ln(live / train)`, both shares floored at [`FLOOR`] so an empty bin
//! (no training mass below the training minimum, or no live value yet in a bin) stays finite.
//! Usual reading: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 a different population
//! (alerts: `FeatureDriftHigh` at 0.25, `FeatureDriftCritical` at 0.5, docs/runbooks.md).
//!
//! Pure: no I/O, no clock. The tick loop feeds it usable vectors and exports [`DriftWindow::psi`].

use model_meta::{FeatureBins, TrainingDistribution};
use std::collections::VecDeque;
use std::sync::Arc;

/// Share floor for an empty bin.
pub const FLOOR: f64 = 1e-4;
/// Live vectors kept: 30 min at one tick every 2 s.
pub const DEFAULT_WINDOW: usize = 900;
/// No PSI below this many live vectors (5 min at 2 s): a few samples cannot fill 10 bins.
pub const DEFAULT_MIN_SAMPLES: usize = 150;

/// PSI between a training bin distribution and live bin counts (`counts.len() == train.len()`).
pub fn psi(train: &[f64], counts: &[u32]) -> f64 {
    let n: u64 = counts.iter().map(|&c| u64::from(c)).sum();
    if n == 0 {
        return f64::NAN;
    }
    train
        .iter()
        .zip(counts)
        .map(|(&e, &c)| {
            let e = e.max(FLOOR);
            let a = (f64::from(c) / n as f64).max(FLOOR);
            (a - e) * (a / e).ln()
        })
        .sum()
}

/// Rolling per-feature bin counts of the last `capacity` live vectors.
pub struct DriftWindow {
    capacity: usize,
    min_samples: usize,
    reference: Option<Arc<TrainingDistribution>>,
    /// Bin of every tracked feature, per kept vector (oldest first); `u8::MAX` for untracked.
    rows: VecDeque<Vec<u8>>,
    counts: Vec<Vec<u32>>,
}

impl DriftWindow {
    pub fn new(capacity: usize, min_samples: usize) -> Self {
        DriftWindow {
            capacity: capacity.max(1),
            min_samples: min_samples.clamp(1, capacity.max(1)),
            reference: None,
            rows: VecDeque::new(),
            counts: Vec::new(),
        }
    }

    /// Live vectors in the window.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Switches the reference (a new model, or none); the window restarts when it changes.
    pub fn set_reference(&mut self, reference: Option<Arc<TrainingDistribution>>) {
        let same = match (&self.reference, &reference) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        if same {
            return;
        }
        self.counts = reference
            .as_ref()
            .map(|d| {
                d.by_feature
                    .iter()
                    .map(|b| vec![0; b.as_ref().map_or(0, |b| b.fractions.len())])
                    .collect()
            })
            .unwrap_or_default();
        self.rows.clear();
        self.reference = reference;
    }

    /// Adds one live vector (feature contract order); ignored without a reference or on a length
    /// mismatch (the contract check upstream refuses such vectors).
    pub fn push(&mut self, values: &[f64]) {
        let Some(reference) = &self.reference else {
            return;
        };
        if values.len() != reference.by_feature.len() {
            return;
        }
        let row: Vec<u8> = reference
            .by_feature
            .iter()
            .zip(values)
            .map(|(bins, &v)| bins.as_ref().map_or(u8::MAX, |b| bin_u8(b, v)))
            .collect();
        for (f, &b) in row.iter().enumerate() {
            if b != u8::MAX {
                self.counts[f][usize::from(b)] += 1;
            }
        }
        self.rows.push_back(row);
        if self.rows.len() > self.capacity
            && let Some(old) = self.rows.pop_front()
        {
            for (f, &b) in old.iter().enumerate() {
                if b != u8::MAX {
                    self.counts[f][usize::from(b)] -= 1;
                }
            }
        }
    }

    /// PSI of feature `index`; `None` without a reference for it or with too few live vectors.
    pub fn psi(&self, index: usize) -> Option<f64> {
        if self.rows.len() < self.min_samples {
            return None;
        }
        let bins = self.reference.as_ref()?.by_feature.get(index)?.as_ref()?;
        Some(psi(&bins.fractions, &self.counts[index]))
    }
}

fn bin_u8(b: &FeatureBins, v: f64) -> u8 {
    // model_meta caps bins at MAX_BINS (64), so the index fits.
    u8::try_from(b.bin(v)).unwrap_or(u8::MAX - 1)
}

#[cfg(test)]
#[path = "drift_tests.rs"]
mod tests;
