//! Mid-price history for returns (exact lookup of "the mid as of time x", O(log n)) and per-second closes
//! for realized volatility (O(1) per event, ring of the last 64 completed seconds).

use std::collections::VecDeque;

use crate::math::log_return_bps;

/// Mid change points `(time, bid+ask ticks)`, pruned to what the longest return horizon needs.
#[derive(Debug, Clone, Default)]
pub struct MidHistory {
    points: VecDeque<(u64, i64)>,
    horizon_us: u64,
}

impl MidHistory {
    /// History long enough for returns over `horizon_us`.
    pub fn new(horizon_us: u64) -> Self {
        Self {
            points: VecDeque::with_capacity(1024),
            horizon_us,
        }
    }

    /// Records the mid (`bid + ask` ticks) at `t_us` (non-decreasing).
    pub fn record(&mut self, t_us: u64, mid2: i64) {
        match self.points.back_mut() {
            Some(last) if last.1 == mid2 => {}
            Some(last) if last.0 == t_us => last.1 = mid2,
            _ => self.points.push_back((t_us, mid2)),
        }
        let keep_from = t_us.saturating_sub(self.horizon_us);
        while self.points.get(1).is_some_and(|p| p.0 <= keep_from) {
            self.points.pop_front();
        }
    }

    /// The mid as of `t_us`: the last recorded value at or before it.
    pub fn at(&self, t_us: u64) -> Option<i64> {
        let n = self.points.partition_point(|p| p.0 <= t_us);
        n.checked_sub(1).and_then(|i| self.points.get(i)).map(|p| p.1)
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.points.clear();
    }
}

const RING: usize = 64;
const BUCKET_US: u64 = 1_000_000;

/// Squared 1-second log returns of the mid (bps²), from bucket closes.
///
/// `close(b)` is the mid as of the end of second `b`; `r(b) = ln(close(b) / close(b-1))`. A return is
/// undefined until both closes exist.
#[derive(Debug, Clone)]
pub struct SecondReturns {
    bucket: Option<u64>,
    last_close: Option<i64>,
    ring: [(u64, Option<f64>); RING],
}

impl Default for SecondReturns {
    fn default() -> Self {
        Self {
            bucket: None,
            last_close: None,
            ring: [(u64::MAX, None); RING],
        }
    }
}

impl SecondReturns {
    /// Moves the clock to `t_us`; `mid2` is the mid before any event at `t_us` is applied.
    pub fn roll(&mut self, t_us: u64, mid2: Option<i64>) {
        let now = t_us / BUCKET_US;
        let Some(current) = self.bucket else {
            self.bucket = Some(now);
            return;
        };
        if now <= current {
            return;
        }
        // Buckets current..now are complete and all close at `mid2`; only the last RING matter.
        let start = current.max(now.saturating_sub(RING as u64));
        let mut prev = if start == current { self.last_close } else { mid2 };
        for b in start..now {
            let r2 = match (prev, mid2) {
                (Some(p), Some(c)) => Some(log_return_bps(c, p).powi(2)),
                _ => None,
            };
            if let Some(slot) = self.ring.get_mut((b % RING as u64) as usize) {
                *slot = (b, r2);
            }
            prev = mid2;
        }
        self.last_close = mid2;
        self.bucket = Some(now);
    }

    /// `sqrt(Σ r²)` over the last `window` completed seconds, if all of them are defined.
    pub fn realized_vol(&self, window: u64) -> Option<f64> {
        let now = self.bucket?;
        let mut sum = 0.0;
        for b in now.checked_sub(window)?..now {
            match self.ring.get((b % RING as u64) as usize) {
                Some(&(id, Some(r2))) if id == b => sum += r2,
                _ => return None,
            }
        }
        Some(sum.sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mid_lookup_returns_last_value_at_or_before_time() {
        let mut h = MidHistory::new(10);
        h.record(100, 2000);
        h.record(105, 2002);
        h.record(105, 2004);
        assert_eq!(h.at(99), None);
        assert_eq!(h.at(104), Some(2000));
        assert_eq!(h.at(105), Some(2004), "a later update at the same time wins");
        h.record(130, 2006);
        assert_eq!(
            h.at(120),
            Some(2004),
            "the point at or before the horizon survives pruning"
        );
        assert_eq!(h.at(110), Some(2004));
    }

    #[test]
    fn realized_vol_needs_every_second_of_the_window() {
        let mut r = SecondReturns::default();
        r.roll(500_000, None);
        r.roll(1_500_000, Some(20_000));
        assert_eq!(
            r.realized_vol(1),
            None,
            "bucket 0 had no mid, so r(0) is undefined"
        );
        r.roll(2_500_000, Some(20_002));
        let one = r.realized_vol(1).unwrap_or_default();
        assert!((one - log_return_bps(20_002, 20_000).abs()).abs() < 1e-12);
        r.roll(5_000_000, Some(20_002));
        assert_eq!(
            r.realized_vol(2),
            Some(0.0),
            "seconds without events have zero return"
        );
        assert!((r.realized_vol(4).unwrap_or_default() - one).abs() < 1e-12);
        assert_eq!(r.realized_vol(5), None);
    }
}
