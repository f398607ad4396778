//! Supervision of the tick loop from outside it: `/ready` only once a tick has completed, and a
//! `tick_loop` health component that turns `unhealthy` (HTTP 503, so ECS replaces the task) when
//! no tick completed for [`STALLED_INTERVALS`] intervals. A dead or wedged tick loop must not keep
//! the API serving its last prediction as if all were well.
//!
//! The tick loop records each completed tick in a [`TickLiveness`]; [`watch`] runs on the main
//! runtime (not the tick thread, which may be the thing that is stuck) and derives the component
//! with the pure [`tick_component`].

use crate::health::Component;
use crate::hot_path::now_us;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use svc_kit::health::{Health, Level};
use tokio_util::sync::CancellationToken;

/// Health component name.
pub const TICK_LOOP: &str = "tick_loop";
/// No completed tick for this many intervals: unhealthy.
pub const STALLED_INTERVALS: i64 = 3;

/// Wall-clock µs of the last completed tick (0 = none yet); cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct TickLiveness(Arc<AtomicI64>);

impl TickLiveness {
    pub fn new() -> Self {
        Self::default()
    }

    /// A tick completed at `now_us`.
    pub fn completed(&self, now_us: i64) {
        self.0.fetch_max(now_us, Ordering::AcqRel);
    }

    /// When the last tick completed, if one has.
    pub fn last(&self) -> Option<i64> {
        Some(self.0.load(Ordering::Acquire)).filter(|t| *t > 0)
    }
}

/// `tick_loop` from the last completed tick: ticking (healthy), starting (degraded, no tick yet
/// and less than [`STALLED_INTERVALS`] intervals since start), stalled (unhealthy).
pub fn tick_component(
    last_done_us: Option<i64>,
    started_us: i64,
    now_us: i64,
    interval_us: i64,
) -> Component {
    let since = last_done_us.unwrap_or(started_us);
    let silent_us = now_us.saturating_sub(since);
    let limit_us = interval_us.saturating_mul(STALLED_INTERVALS);
    if silent_us > limit_us {
        let what = match last_done_us {
            Some(_) => "no tick completed",
            None => "no tick completed since start",
        };
        return (
            Level::Unhealthy,
            "stalled",
            Some(format!(
                "{what} for {:.1} s (> {STALLED_INTERVALS} intervals of {:.1} s): the tick loop is dead or wedged",
                silent_us as f64 / 1e6,
                interval_us as f64 / 1e6
            )),
        );
    }
    match last_done_us {
        Some(_) => (
            Level::Healthy,
            "ticking",
            Some(format!("last tick completed {:.1} s ago", silent_us as f64 / 1e6)),
        ),
        None => (Level::Degraded, "starting", Some("no tick completed yet".into())),
    }
}

/// Updates `tick_loop` (and readiness: ready once a tick completed) every quarter interval until
/// shutdown.
pub async fn watch(health: Health, liveness: TickLiveness, interval_us: i64, shutdown: CancellationToken) {
    let started_us = now_us();
    let period = Duration::from_micros(u64::try_from(interval_us / 4).unwrap_or(500_000).max(10_000));
    loop {
        let last = liveness.last();
        let (level, word, detail) = tick_component(last, started_us, now_us(), interval_us);
        if shutdown.is_cancelled() {
            return;
        }
        health.set(TICK_LOOP, level, word, detail);
        if last.is_some() {
            health.set_ready(true);
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(period) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    #[test]
    fn healthy_while_ticks_complete_unhealthy_after_three_silent_intervals() {
        let start = 1_700_000_000 * S;
        let c = |last, now| tick_component(last, start, now, 2 * S);
        assert_eq!(c(None, start + S).1, "starting");
        assert_eq!(c(None, start + S).0, Level::Degraded);
        assert_eq!(c(Some(start + 2 * S), start + 3 * S).0, Level::Healthy);
        assert_eq!(
            c(Some(start + 2 * S), start + 8 * S).0,
            Level::Healthy,
            "exactly 3 intervals"
        );
        assert_eq!(c(Some(start + 2 * S), start + 8 * S + 1).0, Level::Unhealthy);
        assert_eq!(
            c(None, start + 6 * S + 1).1,
            "stalled",
            "never ticked since start"
        );
    }

    #[test]
    fn liveness_keeps_the_latest_completion() {
        let l = TickLiveness::new();
        assert_eq!(l.last(), None);
        l.completed(5);
        l.completed(3);
        assert_eq!(l.last(), Some(5));
    }
}
