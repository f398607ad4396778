//! Pacing of source events against the wall clock: a speed factor, or "max" with back-pressure from
//! the slowest session. An armed `pause` holds the feed ([`Pacer::hold`]); a network `stall` does
//! not touch pacing (the market goes on, the sessions just receive nothing).

use std::time::Duration;

use tokio::time::Instant;

use crate::config::Speed;
use crate::hub::Shared;

/// Maps source time to wall time.
#[derive(Debug)]
pub struct Pacer {
    speed: Speed,
    /// (wall instant, source µs) of the first event since the last reset.
    origin: Option<(Instant, u64)>,
    since_yield: u32,
}

impl Pacer {
    /// A pacer for `speed`.
    pub fn new(speed: Speed) -> Self {
        Self {
            speed,
            origin: None,
            since_yield: 0,
        }
    }

    /// Forget the origin (the source restarted).
    pub fn reset(&mut self) {
        self.origin = None;
    }

    /// Waits out any armed pause; returns how long it held (`None` on shutdown). The caller
    /// moves the source's clock by that much ([`crate::feed::Source::skip`]) or, for a source that
    /// cannot, [`Pacer::shift`]s the pacing.
    pub async fn hold(&mut self, shared: &Shared) -> Option<Duration> {
        let mut held = Duration::ZERO;
        while let Some(until) = shared.paused_until() {
            let until = Instant::from_std(until);
            let started = Instant::now();
            tokio::select! {
                () = tokio::time::sleep_until(until) => {}
                () = shared.shutdown.cancelled() => return None,
            }
            held += started.elapsed();
        }
        Some(held)
    }

    /// Delays every later event by `by` (the source's times stay as they were).
    pub fn shift(&mut self, by: Duration) {
        if let Some((origin, _)) = self.origin.as_mut() {
            *origin += by;
        }
    }

    /// Waits until the event at `pacing_us` is due. `false` on shutdown.
    pub async fn wait(&mut self, pacing_us: u64, shared: &Shared) -> bool {
        match self.speed {
            Speed::Max => self.back_pressure(shared).await,
            Speed::Factor(factor) => {
                let (origin, first) = *self.origin.get_or_insert((Instant::now(), pacing_us));
                let offset_us = pacing_us.saturating_sub(first) as f64 / factor;
                let due = origin + Duration::from_micros(offset_us as u64);
                if due > Instant::now() {
                    tokio::select! {
                        () = tokio::time::sleep_until(due) => true,
                        () = shared.shutdown.cancelled() => false,
                    }
                } else {
                    self.maybe_yield().await;
                    !shared.shutdown.is_cancelled()
                }
            }
        }
    }

    /// Max speed: keep every session's queue at most half full, yielding regularly.
    async fn back_pressure(&mut self, shared: &Shared) -> bool {
        let limit = shared.queue_capacity() / 2;
        while shared.queued() >= limit {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(1)) => {}
                () = shared.shutdown.cancelled() => return false,
            }
        }
        self.maybe_yield().await;
        !shared.shutdown.is_cancelled()
    }

    async fn maybe_yield(&mut self) {
        self.since_yield += 1;
        if self.since_yield >= 64 {
            self.since_yield = 0;
            tokio::task::yield_now().await;
        }
    }
}
