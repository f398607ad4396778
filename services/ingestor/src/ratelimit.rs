//! A strict rolling-window limiter (pure): at most `limit` events in any window of `window`.
//! Used for WebSocket connects (Binance: 300 per 5 min) and client messages (5 per second).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct RollingWindow {
    limit: usize,
    window: Duration,
    stamps: VecDeque<Instant>,
}

impl RollingWindow {
    pub fn new(limit: usize, window: Duration) -> Self {
        Self {
            limit: limit.max(1),
            window,
            stamps: VecDeque::new(),
        }
    }

    fn evict(&mut self, now: Instant) {
        while let Some(&t) = self.stamps.front() {
            if now.saturating_duration_since(t) >= self.window {
                self.stamps.pop_front();
            } else {
                break;
            }
        }
    }

    /// Take one slot at `now`, or say how long until one frees up.
    pub fn try_acquire(&mut self, now: Instant) -> Result<(), Duration> {
        self.evict(now);
        if self.stamps.len() < self.limit {
            self.stamps.push_back(now);
            return Ok(());
        }
        let oldest = self.stamps.front().copied().unwrap_or(now);
        Err((oldest + self.window).saturating_duration_since(now))
    }

    /// Record an event that happens regardless (e.g. an automatic pong), so later optional
    /// messages see it in the window.
    pub fn record(&mut self, now: Instant) {
        self.evict(now);
        self.stamps.push_back(now);
    }

    /// Events in the window ending at `now`.
    pub fn in_window(&mut self, now: Instant) -> usize {
        self.evict(now);
        self.stamps.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_limit_then_refuses_until_the_oldest_event_leaves_the_window() {
        let t0 = Instant::now();
        let mut w = RollingWindow::new(5, Duration::from_secs(1));
        for i in 0..5 {
            assert_eq!(w.try_acquire(t0 + Duration::from_millis(i * 100)), Ok(()));
        }
        let at = t0 + Duration::from_millis(500);
        assert_eq!(w.try_acquire(at), Err(Duration::from_millis(500)));
        // Exactly one window after the first event, one slot is free again.
        assert_eq!(w.try_acquire(t0 + Duration::from_secs(1)), Ok(()));
        assert!(w.try_acquire(t0 + Duration::from_millis(1050)).is_err());
    }

    #[test]
    fn no_window_of_the_given_length_ever_holds_more_than_the_limit() {
        let t0 = Instant::now();
        let mut w = RollingWindow::new(3, Duration::from_millis(100));
        let mut granted = Vec::new();
        for ms in 0..1000u64 {
            let now = t0 + Duration::from_millis(ms);
            if w.try_acquire(now).is_ok() {
                granted.push(ms);
            }
        }
        for (i, &start) in granted.iter().enumerate() {
            let in_window = granted[i..].iter().take_while(|&&t| t < start + 100).count();
            assert!(in_window <= 3, "window at {start} ms holds {in_window}");
        }
        assert_eq!(granted.len(), 30);
    }

    #[test]
    fn recorded_events_count_against_the_limit() {
        let t0 = Instant::now();
        let mut w = RollingWindow::new(2, Duration::from_secs(1));
        w.record(t0);
        w.record(t0);
        assert!(w.try_acquire(t0).is_err());
        assert_eq!(w.in_window(t0 + Duration::from_secs(2)), 0);
    }
}
