//! Online evaluation without I/O: each model prediction waits 10 s for the realized mid (taken from
//! the features of a later tick, so no extra Redis round trip), then enters rolling windows of
//! directional accuracy, mean absolute error (USD), correlation and confidence calibration.

use std::collections::VecDeque;

/// Moves smaller than this (|10 s return| < 0.5 bp) are `flat`, as in crates/dataset's labels;
/// they carry no direction and are left out of accuracy and calibration.
pub const FLAT_RETURN: f64 = 0.5e-4;

/// A prediction waiting for its outcome.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pending {
    pub target_time_us: i64,
    pub mid: f64,
    pub predicted_mid: f64,
    pub p_up: f64,
    pub confidence: f64,
}

impl Pending {
    /// The prediction's claim, due one horizon after its slot; `None` without a mid and a
    /// predicted mid (nothing to score).
    pub fn of(p: &crate::prediction::Prediction, horizon_us: i64) -> Option<Pending> {
        Some(Pending {
            target_time_us: p.tick_time_us + horizon_us,
            mid: p.mid?,
            predicted_mid: p.predicted_mid?,
            p_up: p.p_up,
            confidence: p.confidence,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Scored {
    abs_error: f64,
    predicted_return: f64,
    realized_return: f64,
    /// `None` for a flat outcome.
    correct: Option<bool>,
    confidence: f64,
    p_up: f64,
}

/// The rolling metrics (`None` until defined: enough samples, non-zero variance).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub samples: usize,
    pub directional_accuracy: Option<f64>,
    pub mean_absolute_error: Option<f64>,
    pub correlation: Option<f64>,
    pub calibration: Option<f64>,
}

#[derive(Debug)]
pub struct Evaluator {
    pending: VecDeque<Pending>,
    window: VecDeque<Scored>,
    capacity: usize,
    min_samples: usize,
    /// A pending prediction not scored within this long after its target is dropped.
    grace_us: i64,
}

impl Evaluator {
    pub fn new(capacity: usize, min_samples: usize, grace_us: i64) -> Self {
        Evaluator {
            pending: VecDeque::new(),
            window: VecDeque::with_capacity(capacity),
            capacity: capacity.max(1),
            min_samples: min_samples.max(2),
            grace_us,
        }
    }

    /// Queue a model prediction for scoring (bounded: the oldest is dropped beyond 64).
    pub fn push(&mut self, p: Pending) {
        if self.pending.len() >= 64 {
            self.pending.pop_front();
        }
        self.pending.push_back(p);
    }

    /// Forgets every pending and scored prediction (a new model in the role starts afresh).
    pub fn reset(&mut self) {
        self.pending.clear();
        self.window.clear();
    }

    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Scores every pending prediction whose target time has come, against `realized_mid` observed
    /// at `now_us` (`None` when this tick had no trustworthy mid). Returns how many were scored.
    pub fn observe(&mut self, now_us: i64, realized_mid: Option<f64>) -> usize {
        let mut scored = 0;
        while let Some(p) = self.pending.front().copied() {
            if p.target_time_us > now_us {
                break;
            }
            self.pending.pop_front();
            if now_us - p.target_time_us > self.grace_us {
                continue;
            }
            let Some(real) = realized_mid.filter(|m| m.is_finite() && *m > 0.0) else {
                continue;
            };
            let realized_return = real / p.mid - 1.0;
            let correct =
                (realized_return.abs() >= FLAT_RETURN).then_some((realized_return > 0.0) == (p.p_up > 0.5));
            if self.window.len() == self.capacity {
                self.window.pop_front();
            }
            self.window.push_back(Scored {
                abs_error: (p.predicted_mid - real).abs(),
                predicted_return: p.predicted_mid / p.mid - 1.0,
                realized_return,
                correct,
                confidence: p.confidence,
                p_up: p.p_up,
            });
            scored += 1;
        }
        scored
    }

    /// `(p_up, realized 10 s return)` of every scored prediction in the window, oldest first.
    pub fn outcomes(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.window.iter().map(|s| (s.p_up, s.realized_return))
    }

    /// The rolling metrics over the window.
    pub fn snapshot(&self) -> Snapshot {
        let n = self.window.len();
        if n < self.min_samples {
            return Snapshot {
                samples: n,
                ..Snapshot::default()
            };
        }
        let mae = self.window.iter().map(|s| s.abs_error).sum::<f64>() / n as f64;
        let directed: Vec<&Scored> = self.window.iter().filter(|s| s.correct.is_some()).collect();
        let (accuracy, calibration) = if directed.len() >= self.min_samples {
            let k = directed.len() as f64;
            let acc = directed.iter().filter(|s| s.correct == Some(true)).count() as f64 / k;
            let conf = directed.iter().map(|s| s.confidence).sum::<f64>() / k;
            (Some(acc), Some(1.0 - (conf - acc).abs()))
        } else {
            (None, None)
        };
        Snapshot {
            samples: n,
            directional_accuracy: accuracy,
            mean_absolute_error: Some(mae),
            correlation: pearson(
                self.window
                    .iter()
                    .map(|s| (s.predicted_return, s.realized_return)),
            ),
            calibration,
        }
    }
}

/// Pearson correlation, `None` when either side has no variance.
pub fn pearson(pairs: impl Iterator<Item = (f64, f64)> + Clone) -> Option<f64> {
    let n = pairs.clone().count() as f64;
    if n < 2.0 {
        return None;
    }
    let (sx, sy) = pairs.clone().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let (mut cov, mut vx, mut vy) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        cov += (x - mx) * (y - my);
        vx += (x - mx) * (x - mx);
        vy += (y - my) * (y - my);
    }
    let denom = (vx * vy).sqrt();
    (denom > 0.0 && denom.is_finite()).then(|| (cov / denom).clamp(-1.0, 1.0))
}

#[cfg(test)]
#[path = "evaluation_tests.rs"]
mod tests;
