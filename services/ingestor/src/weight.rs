//! REST request-weight budget (pure). Binance counts weight per IP in 1-minute windows and reports
//! the used weight in `X-MBX-USED-WEIGHT-1M` on every response; 429 / 418 carry `Retry-After`.
//!
//! The budget never lets a request go out when `used + weight` would exceed it. `used` is the
//! last reported value plus what was sent since; it is assumed to reset only a full window after
//! the last report (the window's alignment is unknown, so this is the safe side). A `Retry-After`
//! blocks every request until it has passed.

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct WeightBudget {
    budget: u32,
    window: Duration,
    used: u32,
    last_report: Option<Instant>,
    blocked_until: Option<Instant>,
}

impl WeightBudget {
    pub fn new(budget: u32, window: Duration) -> Self {
        Self {
            budget,
            window,
            used: 0,
            last_report: None,
            blocked_until: None,
        }
    }

    fn roll(&mut self, now: Instant) {
        if let Some(t) = self.last_report
            && now.saturating_duration_since(t) >= self.window
        {
            self.used = 0;
            self.last_report = None;
        }
        if self.blocked_until.is_some_and(|b| now >= b) {
            self.blocked_until = None;
        }
    }

    /// Reserve `weight` for a request at `now`, or say how long to wait.
    pub fn reserve(&mut self, weight: u32, now: Instant) -> Result<(), Duration> {
        self.roll(now);
        if let Some(b) = self.blocked_until {
            return Err(b.saturating_duration_since(now));
        }
        if weight > self.budget {
            return Err(self.window);
        }
        if self.used.saturating_add(weight) > self.budget {
            let since = self.last_report.unwrap_or(now);
            return Err((since + self.window)
                .saturating_duration_since(now)
                .max(Duration::from_millis(1)));
        }
        self.used += weight;
        self.last_report.get_or_insert(now);
        Ok(())
    }

    /// The server's `X-MBX-USED-WEIGHT-1M` from a response received at `now`.
    pub fn observe_used(&mut self, used: u32, now: Instant) {
        self.used = used;
        self.last_report = Some(now);
    }

    /// A 429 / 418 `Retry-After`: nothing goes out before `now + after`.
    pub fn retry_after(&mut self, after: Duration, now: Instant) {
        let until = now.checked_add(after).unwrap_or_else(|| far_future(now));
        self.blocked_until = Some(self.blocked_until.map_or(until, |b| b.max(until)));
    }

    /// Weight left in the budget (for `ingestor_rest_rate_limit_remaining`).
    pub fn remaining(&mut self, now: Instant) -> u32 {
        self.roll(now);
        self.budget.saturating_sub(self.used)
    }

    pub fn blocked_until(&self) -> Option<Instant> {
        self.blocked_until
    }
}

/// About 30 years after `now`, or `now` itself on a platform whose clock cannot represent that:
/// the stand-in for "later than any real wait" when an addition would overflow.
pub fn far_future(now: Instant) -> Instant {
    now.checked_add(Duration::from_secs(86_400 * 365 * 30))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn requests_are_refused_when_they_would_exceed_the_budget() {
        let t0 = Instant::now();
        let mut b = WeightBudget::new(120, MIN);
        assert_eq!(b.reserve(50, t0), Ok(()));
        assert_eq!(b.reserve(50, t0), Ok(()));
        assert_eq!(b.remaining(t0), 20);
        assert_eq!(
            b.reserve(50, t0 + Duration::from_secs(10)),
            Err(Duration::from_secs(50))
        );
        assert_eq!(
            b.reserve(50, t0 + MIN),
            Ok(()),
            "a full window later the weight is free"
        );
    }

    #[test]
    fn the_server_report_replaces_the_local_estimate() {
        let t0 = Instant::now();
        let mut b = WeightBudget::new(100, MIN);
        b.reserve(50, t0).unwrap();
        b.observe_used(95, t0 + Duration::from_secs(1)); // other clients on the same IP
        assert!(b.reserve(10, t0 + Duration::from_secs(2)).is_err());
        assert_eq!(b.reserve(5, t0 + Duration::from_secs(2)), Ok(()));
        b.observe_used(0, t0 + Duration::from_secs(3)); // new minute on the server
        assert_eq!(b.reserve(50, t0 + Duration::from_secs(3)), Ok(()));
    }

    #[test]
    fn retry_after_blocks_everything_until_it_passes() {
        let t0 = Instant::now();
        let mut b = WeightBudget::new(6000, MIN);
        b.retry_after(Duration::from_secs(2), t0);
        assert_eq!(
            b.reserve(1, t0 + Duration::from_secs(1)),
            Err(Duration::from_secs(1))
        );
        b.retry_after(Duration::from_secs(1), t0); // a shorter one does not shorten the block
        assert!(b.reserve(1, t0 + Duration::from_millis(1500)).is_err());
        assert_eq!(b.reserve(1, t0 + Duration::from_secs(2)), Ok(()));
    }

    #[test]
    fn a_retry_after_beyond_the_clock_blocks_without_panicking() {
        let t0 = Instant::now();
        let mut b = WeightBudget::new(6000, MIN);
        b.retry_after(Duration::from_secs(u64::MAX), t0);
        assert!(b.reserve(1, t0 + Duration::from_secs(3600)).is_err());
    }

    #[test]
    fn a_request_heavier_than_the_whole_budget_is_never_sent() {
        let mut b = WeightBudget::new(40, MIN);
        assert!(b.reserve(50, Instant::now()).is_err());
    }
}
