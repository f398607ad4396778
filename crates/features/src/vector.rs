//! The feature vector handed to Redis / the model.

use crate::spec::{FEATURE_VERSION, N_FEATURES};

/// Values in [`crate::FEATURE_NAMES`] order plus per-feature warm flags. Cold values are `0.0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeatureVector {
    /// [`FEATURE_VERSION`] the values follow.
    pub version: u32,
    /// Exchange event time (µs) the values are as of.
    pub event_time_us: u64,
    /// Values.
    pub values: [f64; N_FEATURES],
    /// `true` when the feature has enough history / input to be meaningful.
    pub warm: [bool; N_FEATURES],
}

impl Default for FeatureVector {
    fn default() -> Self {
        Self {
            version: FEATURE_VERSION,
            event_time_us: 0,
            values: [0.0; N_FEATURES],
            warm: [false; N_FEATURES],
        }
    }
}

impl FeatureVector {
    /// Share of warm features in `[0, 1]`.
    pub fn completeness(&self) -> f64 {
        self.warm.iter().filter(|w| **w).count() as f64 / N_FEATURES as f64
    }

    /// `true` when every feature is warm.
    pub fn is_complete(&self) -> bool {
        self.warm.iter().all(|w| *w)
    }

    /// Values as `f32` (model input).
    pub fn values_f32(&self) -> [f32; N_FEATURES] {
        self.values.map(|v| v as f32)
    }

    /// Sets feature `i` (no-op when out of range).
    pub(crate) fn set(&mut self, i: usize, value: Option<f64>) {
        if let (Some(v), Some(w)) = (self.values.get_mut(i), self.warm.get_mut(i)) {
            *v = value.unwrap_or(0.0);
            *w = value.is_some_and(f64::is_finite);
            if !*w {
                *v = 0.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completeness_is_the_share_of_warm_features_and_non_finite_values_stay_cold() {
        let mut v = FeatureVector::default();
        assert_eq!(v.completeness(), 0.0);
        v.set(0, Some(1.5));
        v.set(1, Some(f64::NAN));
        v.set(99, Some(1.0));
        assert_eq!(v.completeness(), 1.0 / N_FEATURES as f64);
        assert_eq!((v.values[1], v.warm[1]), (0.0, false));
        assert!(!v.is_complete());
    }
}
