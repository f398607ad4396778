//! `/health` components in seed 000's words, derived without I/O. Nothing here is ever
//! `unhealthy` at the HTTP level (503): a model refusal or a Redis outage keeps the service up in
//! fallback mode and recovering by itself (docs/deploy.md "Health semantics"), so those are
//! `Level::Degraded` with the seed's status word (`unhealthy`, `disconnected`, `failed`).

use crate::config::Variant;
use crate::contract::FeatureSnapshot;
use crate::models::SlotStatus;
use metrics_schema::labels::FallbackReason;
use svc_kit::health::Level;

pub const MODEL: &str = "model_status";
pub const REDIS: &str = "redis_connectivity";
pub const FEATURES: &str = "feature_pipeline";

/// Seed 000: Redis read latency p95 above 5 ms is a warning (the `RedisReadLatencyHigh` alert,
/// over 5 min). The health word calls Redis `degraded` only when the *median* read of the recent
/// window is above it: one slow read on a busy host is noise, half of them slow is a condition.
pub const SLOW_READ_SECS: f64 = 0.005;
/// Ticks kept for the Redis health word (30 s at the 2 s interval).
pub const REDIS_WINDOW: usize = 15;
/// Seed 000: features older than 5 s are `stale`.
pub const STALE_SECS: f64 = 5.0;

pub type Component = (Level, &'static str, Option<String>);

/// `model_status`: healthy (active variant loaded, last run fine), degraded (serving, but the
/// last run failed or a newer file was refused), unhealthy (the active variant's model is not
/// loaded: fallback serving).
pub fn model(
    variant: Variant,
    active: &SlotStatus,
    other: &SlotStatus,
    run_error: Option<&str>,
) -> Component {
    let name = variant.as_str();
    if !active.loaded {
        let fallback = if variant == Variant::Ml && other.loaded {
            "baseline model"
        } else {
            "heuristic fallback (no move, p_up 0.5)"
        };
        let why = active.last_error.as_deref().unwrap_or("not loaded yet");
        return (
            Level::Degraded,
            "unhealthy",
            Some(format!("{name} model unavailable ({why}); serving {fallback}")),
        );
    }
    let version = active.version.as_deref().unwrap_or("?");
    if let Some(e) = run_error {
        return (
            Level::Degraded,
            "degraded",
            Some(format!("{name} model {version} failed its last run: {e}")),
        );
    }
    if let Some(e) = active.last_error.as_deref() {
        return (
            Level::Degraded,
            "degraded",
            Some(format!(
                "reload refused ({e}); {name} model {version} keeps serving"
            )),
        );
    }
    (Level::Healthy, "healthy", Some(format!("{name} model {version}")))
}

/// The last [`REDIS_WINDOW`] ticks' Redis outcomes: round trip ok, and the read's duration.
#[derive(Debug)]
pub struct RedisWindow {
    ticks: std::collections::VecDeque<(bool, f64)>,
    /// A median read above this is `degraded` (`tick.slow_read_ms`, default [`SLOW_READ_SECS`]).
    pub slow_read_secs: f64,
}

impl Default for RedisWindow {
    fn default() -> Self {
        RedisWindow::new(SLOW_READ_SECS)
    }
}

impl RedisWindow {
    pub fn new(slow_read_secs: f64) -> Self {
        RedisWindow {
            ticks: std::collections::VecDeque::with_capacity(REDIS_WINDOW + 1),
            slow_read_secs,
        }
    }

    /// The median read when it is above the slow-read bound.
    pub fn slow_median(&self) -> Option<f64> {
        self.median_read().filter(|s| *s > self.slow_read_secs)
    }

    pub fn push(&mut self, ok: bool, read_secs: f64) {
        if self.ticks.len() == REDIS_WINDOW {
            self.ticks.pop_front();
        }
        self.ticks.push_back((ok, read_secs));
    }

    pub fn failures(&self) -> u32 {
        self.ticks.iter().filter(|(ok, _)| !ok).count() as u32
    }

    /// Median duration of the successful reads in the window (upper median), if any.
    pub fn median_read(&self) -> Option<f64> {
        let mut reads: Vec<f64> = self.ticks.iter().filter(|t| t.0).map(|t| t.1).collect();
        if reads.is_empty() {
            return None;
        }
        reads.sort_by(f64::total_cmp);
        Some(reads[reads.len() / 2])
    }
}

/// `redis_connectivity` from the latest tick and recent history: disconnected (latest round trip
/// failed), degraded (a failure within the recent window, or `slow_median`: the window's median
/// read when above the bound, see [`RedisWindow::slow_median`]), connected.
pub fn redis(
    last_ok: bool,
    recent_failures: u32,
    slow_median: Option<f64>,
    last_error: Option<&str>,
) -> Component {
    if !last_ok {
        return (
            Level::Degraded,
            "disconnected",
            Some(format!(
                "redis unavailable: {}; retrying with backoff, predictions fall back",
                last_error.unwrap_or("no round trip yet")
            )),
        );
    }
    if recent_failures > 0 {
        return (
            Level::Degraded,
            "degraded",
            Some(format!("{recent_failures} failed round trip(s) in the last 30 s")),
        );
    }
    if let Some(s) = slow_median {
        return (
            Level::Degraded,
            "degraded",
            Some(format!(
                "slow reads: median {:.1} ms over the last {REDIS_WINDOW} ticks",
                s * 1e3
            )),
        );
    }
    (Level::Healthy, "connected", None)
}

/// `feature_pipeline` from the tick's check: active, stale (old, incomplete or unreadable for
/// now), failed (anchor buffering/failed, no features, another feature contract).
pub fn features(
    checked: Result<(), FallbackReason>,
    snap: Option<&FeatureSnapshot>,
    now_us: i64,
) -> Component {
    let age = snap.map(|s| (now_us - s.compute_time_us) as f64 / 1e6);
    let age_text = age
        .map(|a| format!("{a:.1} s"))
        .unwrap_or_else(|| "unknown".into());
    match checked {
        Ok(()) => (Level::Healthy, "active", Some(format!("age {age_text}"))),
        Err(FallbackReason::StaleFeatures) => {
            let word = if age.is_some_and(|a| a > STALE_SECS) {
                "stale"
            } else {
                "active"
            };
            (
                Level::Degraded,
                word,
                Some(format!("features too old for the model: age {age_text}")),
            )
        }
        Err(FallbackReason::MarketStale | FallbackReason::ClockSkew) => {
            let market = snap.map(|s| (now_us - s.event_time_us) as f64 / 1e6);
            let word = if market.is_some_and(|a| a > STALE_SECS) {
                "stale"
            } else {
                "active"
            };
            (
                Level::Degraded,
                word,
                Some(format!(
                    "market time off the wall clock: last exchange event {} ago (features computed {age_text} ago); exchange stall, backlog replay or clock skew?",
                    market
                        .map(|a| format!("{a:.1} s"))
                        .unwrap_or_else(|| "unknown".into())
                )),
            )
        }
        Err(FallbackReason::IncompleteFeatures) => (
            Level::Degraded,
            "stale",
            Some(format!(
                "completeness {:.2} below the model's minimum (windows warming up?)",
                snap.map(|s| s.completeness).unwrap_or(0.0)
            )),
        ),
        Err(FallbackReason::AnchorNotSynced) => (
            Level::Degraded,
            "failed",
            Some(format!(
                "anchor {} (epoch {}): not usable",
                snap.map(|s| s.state.as_str()).unwrap_or("?"),
                snap.map(|s| s.epoch).unwrap_or(0)
            )),
        ),
        Err(FallbackReason::RedisUnavailable) => (
            Level::Degraded,
            "stale",
            Some("features unreadable: redis unavailable".into()),
        ),
        Err(_) => {
            let detail = match snap {
                Some(s) => format!("feature contract mismatch: writer v{} {:?}", s.version, s.sig),
                None => "no readable features hash".into(),
            };
            (Level::Degraded, "failed", Some(detail))
        }
    }
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
