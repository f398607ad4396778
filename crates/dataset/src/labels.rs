//! Labels: the reference-price return over the next 10 s and its direction.
//!
//! `return_10s = price(T + 10 s) / price(T) − 1` (a plain fraction, not bps). Direction is `flat` when
//! `|return_10s| < 0.5 bp` (this includes an unchanged mid; 0.5 bp ≈ 3 USD at 61 600), else `up` / `down`.
//! A row exists only when the book is synced at `T`, both prices are known, and `T + 10 s` is a grid
//! sample, i.e. inside the data.

use crate::replay::Sample;

/// Prediction horizon (µs).
pub const HORIZON_US: u64 = 10_000_000;
/// Returns with `|r| < FLAT_THRESHOLD_BPS` bp are `flat`.
pub const FLAT_THRESHOLD_BPS: f64 = 0.5;

/// Direction of the future return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `return ≥ +threshold`.
    Up,
    /// `return ≤ −threshold`.
    Down,
    /// `|return| < threshold`.
    Flat,
}

impl Direction {
    /// Classifies a fractional return.
    pub fn of_return(r: f64) -> Self {
        let bps = r * 1e4;
        if bps.abs() < FLAT_THRESHOLD_BPS {
            Self::Flat
        } else if bps > 0.0 {
            Self::Up
        } else {
            Self::Down
        }
    }

    /// CSV spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
            Self::Flat => "flat",
        }
    }
}

/// A sample with its label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabeledRow<'a> {
    /// The sample at `T`.
    pub sample: &'a Sample,
    /// Reference price at `T`.
    pub price: f64,
    /// Reference price at `T + 10 s`.
    pub future_price: f64,
    /// `future / price − 1`.
    pub return_10s: f64,
    /// Direction of `return_10s`.
    pub direction: Direction,
}

/// Labels the samples of a regular grid with step `every_us` (which must divide [`HORIZON_US`]).
pub fn label(samples: &[Sample], every_us: u64) -> Vec<LabeledRow<'_>> {
    if every_us == 0 || !HORIZON_US.is_multiple_of(every_us) {
        return Vec::new();
    }
    let ahead = (HORIZON_US / every_us) as usize;
    samples
        .iter()
        .zip(samples.iter().skip(ahead))
        .filter_map(|(now, later)| {
            if !now.synced || later.time_us != now.time_us + HORIZON_US {
                return None;
            }
            let (p, f) = (now.price?, later.price?);
            let r = f / p - 1.0;
            Some(LabeledRow {
                sample: now,
                price: p,
                future_price: f,
                return_10s: r,
                direction: Direction::of_return(r),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use features::FeatureVector;

    fn sample(t_s: u64, price: Option<f64>, synced: bool) -> Sample {
        Sample {
            time_us: t_s * 1_000_000,
            features: FeatureVector::default(),
            synced,
            price,
        }
    }

    #[test]
    fn direction_is_flat_inside_half_a_basis_point_and_signed_outside() {
        assert_eq!(Direction::of_return(0.0), Direction::Flat);
        assert_eq!(Direction::of_return(0.49e-4), Direction::Flat);
        assert_eq!(Direction::of_return(-0.49e-4), Direction::Flat);
        assert_eq!(Direction::of_return(0.5e-4), Direction::Up);
        assert_eq!(Direction::of_return(-0.6e-4), Direction::Down);
    }

    #[test]
    fn rows_pair_each_sample_with_the_one_ten_seconds_later_and_stop_at_the_end_of_the_data() {
        let samples: Vec<Sample> = (0..8)
            .map(|i| sample(i * 2, Some(100.0 + i as f64), true))
            .collect();
        let rows = label(&samples, 2_000_000);
        assert_eq!(rows.len(), 3, "samples at 0,2,4 s have a sample 10 s later");
        assert_eq!(rows[0].future_price, 105.0);
        assert!((rows[0].return_10s - 0.05).abs() < 1e-12);
        assert_eq!(rows[0].direction, Direction::Up);
    }

    #[test]
    fn unsynced_or_priceless_samples_get_no_row() {
        let mut samples: Vec<Sample> = (0..7).map(|i| sample(i * 2, Some(100.0), true)).collect();
        samples[0].synced = false;
        samples[6].price = None;
        let rows = label(&samples, 2_000_000);
        assert!(rows.is_empty(), "{rows:?}");
    }

    #[test]
    fn a_step_that_does_not_divide_the_horizon_yields_no_rows() {
        let samples: Vec<Sample> = (0..40).map(|i| sample(i * 3, Some(1.0), true)).collect();
        assert!(label(&samples, 3_000_000).is_empty());
    }
}
