//! Circuit breaker for REST calls (pure): closed → open after `threshold` consecutive failures;
//! open for `cooldown`; then half-open, letting one trial call through; its success closes the
//! breaker, its failure opens it again.

use std::time::{Duration, Instant};

/// Exported as `ingestor_rest_circuit_breaker_state` (0 closed, 1 half-open, 2 open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    HalfOpen,
    Open,
}

impl BreakerState {
    pub fn gauge(self) -> f64 {
        match self {
            Self::Closed => 0.0,
            Self::HalfOpen => 1.0,
            Self::Open => 2.0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    threshold: u32,
    cooldown: Duration,
    failures: u32,
    opened_at: Option<Instant>,
    trial_in_flight: bool,
}

impl CircuitBreaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            failures: 0,
            opened_at: None,
            trial_in_flight: false,
        }
    }

    pub fn state(&self, now: Instant) -> BreakerState {
        match self.opened_at {
            None => BreakerState::Closed,
            Some(t) if now.saturating_duration_since(t) < self.cooldown => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        }
    }

    /// May a call go out now? `Err` is how long to wait before asking again.
    pub fn allow(&mut self, now: Instant) -> Result<(), Duration> {
        match (self.state(now), self.opened_at) {
            (BreakerState::Closed, _) => Ok(()),
            (BreakerState::Open, Some(t)) => Err((t + self.cooldown).saturating_duration_since(now)),
            (BreakerState::HalfOpen, _) if !self.trial_in_flight => {
                self.trial_in_flight = true;
                Ok(())
            }
            _ => Err(self.cooldown.min(Duration::from_secs(1))),
        }
    }

    pub fn on_success(&mut self) {
        self.failures = 0;
        self.opened_at = None;
        self.trial_in_flight = false;
    }

    pub fn on_failure(&mut self, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        if self.trial_in_flight || self.failures >= self.threshold {
            self.opened_at = Some(now);
        }
        self.trial_in_flight = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_and_half_opens_after_the_cooldown() {
        let t0 = Instant::now();
        let mut b = CircuitBreaker::new(3, Duration::from_secs(10));
        for _ in 0..2 {
            assert_eq!(b.allow(t0), Ok(()));
            b.on_failure(t0);
        }
        assert_eq!(b.state(t0), BreakerState::Closed);
        b.on_failure(t0);
        assert_eq!(b.state(t0), BreakerState::Open);
        assert_eq!(b.allow(t0 + Duration::from_secs(4)), Err(Duration::from_secs(6)));
        let later = t0 + Duration::from_secs(10);
        assert_eq!(b.state(later), BreakerState::HalfOpen);
        assert_eq!(b.allow(later), Ok(()), "one trial");
        assert!(b.allow(later).is_err(), "only one trial at a time");
        b.on_success();
        assert_eq!(b.state(later), BreakerState::Closed);
    }

    #[test]
    fn a_failed_trial_reopens_for_a_full_cooldown() {
        let t0 = Instant::now();
        let mut b = CircuitBreaker::new(1, Duration::from_secs(5));
        b.on_failure(t0);
        let trial = t0 + Duration::from_secs(5);
        assert_eq!(b.allow(trial), Ok(()));
        b.on_failure(trial);
        assert_eq!(b.state(trial + Duration::from_secs(4)), BreakerState::Open);
        assert_eq!(b.state(trial + Duration::from_secs(5)), BreakerState::HalfOpen);
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let t0 = Instant::now();
        let mut b = CircuitBreaker::new(2, Duration::from_secs(5));
        b.on_failure(t0);
        b.on_success();
        b.on_failure(t0);
        assert_eq!(b.state(t0), BreakerState::Closed);
        assert_eq!(BreakerState::Open.gauge(), 2.0);
    }
}
