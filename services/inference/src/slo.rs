//! Availability over a rolling window, without I/O: `service_uptime_ratio` = successful ticks /
//! ticks, `service_error_budget_remaining` = 1 − error ratio / 0.001 (negative once overspent).
//! A tick is successful when it published a prediction (fallback predictions included, as in
//! docs/slo.md). Ticks are counted in one-minute buckets so a 30-day window stays small.

use std::collections::VecDeque;

/// The availability objective's error budget (99.9 %).
pub const ERROR_BUDGET: f64 = 0.001;
const BUCKET_US: i64 = 60_000_000;

#[derive(Debug)]
pub struct SloWindow {
    buckets: VecDeque<(i64, u32, u32)>,
    window_us: i64,
    ok: u64,
    total: u64,
}

impl SloWindow {
    pub fn new(window_us: i64) -> Self {
        SloWindow {
            buckets: VecDeque::new(),
            window_us: window_us.max(BUCKET_US),
            ok: 0,
            total: 0,
        }
    }

    /// Count one tick at `now_us`.
    pub fn record(&mut self, now_us: i64, ok: bool) {
        let start = now_us - now_us.rem_euclid(BUCKET_US);
        match self.buckets.back_mut() {
            Some((s, o, t)) if *s == start => {
                *o += u32::from(ok);
                *t += 1;
            }
            _ => self.buckets.push_back((start, u32::from(ok), 1)),
        }
        self.ok += u64::from(ok);
        self.total += 1;
        while let Some(&(s, o, t)) = self.buckets.front() {
            if s > now_us - self.window_us {
                break;
            }
            self.buckets.pop_front();
            self.ok -= u64::from(o);
            self.total -= u64::from(t);
        }
    }

    /// Successful / total ticks in the window (`None` before the first tick).
    pub fn uptime_ratio(&self) -> Option<f64> {
        (self.total > 0).then(|| self.ok as f64 / self.total as f64)
    }

    pub fn error_budget_remaining(&self) -> Option<f64> {
        self.uptime_ratio().map(|r| 1.0 - (1.0 - r) / ERROR_BUDGET)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    #[test]
    fn ratios_are_unknown_before_the_first_tick() {
        let w = SloWindow::new(3600 * S);
        assert_eq!(w.uptime_ratio(), None);
        assert_eq!(w.error_budget_remaining(), None);
    }

    #[test]
    fn one_failed_tick_in_two_thousand_spends_half_the_budget() {
        let mut w = SloWindow::new(24 * 3600 * S);
        for i in 0..2000 {
            w.record(i * 2 * S, i != 7);
        }
        assert_eq!(w.uptime_ratio(), Some(1999.0 / 2000.0));
        let b = w.error_budget_remaining().unwrap_or(f64::NAN);
        assert!((b - 0.5).abs() < 1e-9, "{b}");
    }

    #[test]
    fn failures_older_than_the_window_no_longer_count() {
        let mut w = SloWindow::new(3600 * S);
        w.record(0, false);
        for i in 1..=1800 {
            w.record(3600 * S + i * 2 * S, true);
        }
        assert_eq!(w.uptime_ratio(), Some(1.0));
        assert_eq!(w.error_budget_remaining(), Some(1.0));
    }

    #[test]
    fn overspent_budget_goes_negative() {
        let mut w = SloWindow::new(3600 * S);
        for i in 0..10 {
            w.record(i * 2 * S, i % 2 == 0);
        }
        assert!(w.error_budget_remaining().is_some_and(|b| b < -400.0));
    }
}
