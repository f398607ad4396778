//! Fault injection: what a test (or `--fault` at start) can ask for, and the armed state the feed,
//! the sessions and the REST handlers consult.
//!
//! Admin API: `POST /admin/fault` with one JSON object tagged by `type`, e.g.
//! `{"type":"drop_depth_diffs","count":3}`; `DELETE /admin/fault` clears everything armed.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::streams::StreamKind;

fn one() -> u32 {
    1
}

fn depth() -> StreamKind {
    StreamKind::Depth
}

fn unknown_template_id() -> u16 {
    9999
}

/// One fault. JSON: `{"type":"<snake_case variant>", ...fields}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Do not send the next `count` depth diffs (a sequence gap; the book still advances).
    DropDepthDiffs { count: u32 },
    /// Drop every WebSocket connection (TCP closed without a close frame).
    DisconnectAll,
    /// A network stall of `duration_ms`: connections stay open but carry no market data and no
    /// server pings, while the market goes on (the book advances, frames of the stall are lost, a
    /// depth client sees a sequence gap); afterwards event times are current again.
    Stall { duration_ms: u64 },
    /// A lossless pause of `duration_ms`: the market halts (no event is produced, none is lost, no
    /// pings), then resumes where it stopped; the synthetic clock jumps by the pause so event
    /// times are current again (a replay's recorded times are shifted in pacing only).
    Pause { duration_ms: u64 },
    /// Send the next `count` frames of `stream` (default `depth`) with a corrupted header.
    CorruptFrame {
        #[serde(default = "depth")]
        stream: StreamKind,
        #[serde(default = "one")]
        count: u32,
    },
    /// Send the next `count` frames of `stream` (default `depth`) cut in half.
    TruncatedFrame {
        #[serde(default = "depth")]
        stream: StreamKind,
        #[serde(default = "one")]
        count: u32,
    },
    /// Send one extra binary frame with a valid header and an unknown template id (default 9999).
    UnknownTemplate {
        #[serde(default = "unknown_template_id")]
        template_id: u16,
    },
    /// Send `{"e":"serverShutdown","E":<µs>}` to every client, then disconnect them after
    /// `disconnect_after_ms` (omit to keep them connected).
    ServerShutdown {
        #[serde(default)]
        disconnect_after_ms: Option<u64>,
    },
    /// Answer the next `count` REST `/api/v3/*` requests with `status` (429, 418, 5xx...).
    Rest {
        status: u16,
        #[serde(default = "one")]
        count: u32,
        /// `Retry-After` seconds for 429 / 418 (default 1).
        #[serde(default)]
        retry_after_secs: Option<u64>,
    },
    /// Delay the next `count` REST `/api/v3/*` responses by `delay_ms`.
    RestSlow {
        delay_ms: u64,
        #[serde(default = "one")]
        count: u32,
    },
}

impl Fault {
    /// Bounded label for stats.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::DropDepthDiffs { .. } => "drop_depth_diffs",
            Self::DisconnectAll => "disconnect_all",
            Self::Stall { .. } => "stall",
            Self::Pause { .. } => "pause",
            Self::CorruptFrame { .. } => "corrupt_frame",
            Self::TruncatedFrame { .. } => "truncated_frame",
            Self::UnknownTemplate { .. } => "unknown_template",
            Self::ServerShutdown { .. } => "server_shutdown",
            Self::Rest { .. } => "rest",
            Self::RestSlow { .. } => "rest_slow",
        }
    }
}

/// How to damage one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    Corrupt,
    Truncate,
}

/// A REST answer forced by a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestFault {
    pub status: u16,
    pub retry_after_secs: u64,
}

/// Faults armed and waiting to take effect.
#[derive(Debug, Default)]
pub struct ArmedFaults {
    drop_diffs: u32,
    damage: VecDeque<(StreamKind, Damage, u32)>,
    stall_until: Option<Instant>,
    pause_until: Option<Instant>,
    rest: VecDeque<(RestFault, u32)>,
    rest_slow: VecDeque<(Duration, u32)>,
}

impl ArmedFaults {
    /// Arms the feed/REST part of `fault` (instant faults are applied by the caller).
    pub fn arm(&mut self, fault: &Fault, now: Instant) {
        match *fault {
            Fault::DropDepthDiffs { count } => self.drop_diffs = self.drop_diffs.saturating_add(count),
            Fault::Stall { duration_ms } => extend(&mut self.stall_until, now, duration_ms),
            Fault::Pause { duration_ms } => extend(&mut self.pause_until, now, duration_ms),
            Fault::CorruptFrame { stream, count } => self.damage.push_back((stream, Damage::Corrupt, count)),
            Fault::TruncatedFrame { stream, count } => {
                self.damage.push_back((stream, Damage::Truncate, count));
            }
            Fault::Rest {
                status,
                count,
                retry_after_secs,
            } => self.rest.push_back((
                RestFault {
                    status,
                    retry_after_secs: retry_after_secs.unwrap_or(1),
                },
                count,
            )),
            Fault::RestSlow { delay_ms, count } => {
                self.rest_slow.push_back((Duration::from_millis(delay_ms), count));
            }
            Fault::DisconnectAll | Fault::UnknownTemplate { .. } | Fault::ServerShutdown { .. } => {}
        }
    }

    /// Clears everything armed.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Should the next depth diff be dropped? (Consumes one.)
    pub fn take_drop_diff(&mut self) -> bool {
        let hit = self.drop_diffs > 0;
        self.drop_diffs = self.drop_diffs.saturating_sub(1);
        hit
    }

    /// Damage for the next frame of `kind`, if armed. (Consumes one.)
    pub fn take_damage(&mut self, kind: StreamKind) -> Option<Damage> {
        let slot = self.damage.iter_mut().find(|(k, _, n)| *k == kind && *n > 0)?;
        slot.2 -= 1;
        let damage = slot.1;
        self.damage.retain(|(_, _, n)| *n > 0);
        Some(damage)
    }

    /// End of the current network stall, if one is in progress at `now`.
    pub fn stalled_until(&self, now: Instant) -> Option<Instant> {
        self.stall_until.filter(|u| *u > now)
    }

    /// End of the current pause, if one is in progress at `now`.
    pub fn paused_until(&self, now: Instant) -> Option<Instant> {
        self.pause_until.filter(|u| *u > now)
    }

    /// A forced REST answer for the next request, if armed. (Consumes one.)
    pub fn take_rest(&mut self) -> Option<RestFault> {
        take_counted(&mut self.rest)
    }

    /// A forced REST delay for the next request, if armed. (Consumes one.)
    pub fn take_rest_delay(&mut self) -> Option<Duration> {
        take_counted(&mut self.rest_slow)
    }
}

/// Sets `until` to `now + duration_ms`, or keeps a later end already armed.
fn extend(until: &mut Option<Instant>, now: Instant, duration_ms: u64) {
    let end = now
        .checked_add(Duration::from_millis(duration_ms))
        .unwrap_or(now + Duration::from_secs(86_400 * 365));
    *until = Some(until.map_or(end, |u| u.max(end)));
}

fn take_counted<T: Copy>(queue: &mut VecDeque<(T, u32)>) -> Option<T> {
    let front = queue.front_mut()?;
    let value = front.0;
    front.1 = front.1.saturating_sub(1);
    if front.1 == 0 {
        queue.pop_front();
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_json_uses_a_type_tag_and_defaults() {
        let cases = [
            (
                r#"{"type":"drop_depth_diffs","count":3}"#,
                Fault::DropDepthDiffs { count: 3 },
            ),
            (r#"{"type":"disconnect_all"}"#, Fault::DisconnectAll),
            (
                r#"{"type":"pause","duration_ms":8000}"#,
                Fault::Pause { duration_ms: 8000 },
            ),
            (
                r#"{"type":"corrupt_frame"}"#,
                Fault::CorruptFrame {
                    stream: StreamKind::Depth,
                    count: 1,
                },
            ),
            (
                r#"{"type":"truncated_frame","stream":"bestBidAsk","count":2}"#,
                Fault::TruncatedFrame {
                    stream: StreamKind::BestBidAsk,
                    count: 2,
                },
            ),
            (
                r#"{"type":"unknown_template"}"#,
                Fault::UnknownTemplate { template_id: 9999 },
            ),
            (
                r#"{"type":"rest","status":429}"#,
                Fault::Rest {
                    status: 429,
                    count: 1,
                    retry_after_secs: None,
                },
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(serde_json::from_str::<Fault>(json).unwrap(), expected, "{json}");
        }
        assert!(serde_json::from_str::<Fault>(r#"{"type":"drop_depth_diffs","cnt":3}"#).is_err());
        assert!(serde_json::from_str::<Fault>(r#"{"type":"explode"}"#).is_err());
    }

    #[test]
    fn armed_counts_are_consumed_one_event_at_a_time() {
        let now = Instant::now();
        let mut a = ArmedFaults::default();
        a.arm(&Fault::DropDepthDiffs { count: 2 }, now);
        assert!(a.take_drop_diff() && a.take_drop_diff() && !a.take_drop_diff());
        a.arm(
            &Fault::TruncatedFrame {
                stream: StreamKind::Trade,
                count: 1,
            },
            now,
        );
        assert_eq!(a.take_damage(StreamKind::Depth), None);
        assert_eq!(a.take_damage(StreamKind::Trade), Some(Damage::Truncate));
        assert_eq!(a.take_damage(StreamKind::Trade), None);
        a.arm(
            &Fault::Rest {
                status: 503,
                count: 2,
                retry_after_secs: None,
            },
            now,
        );
        assert_eq!(a.take_rest().map(|r| r.status), Some(503));
        assert_eq!(a.take_rest().map(|r| r.status), Some(503));
        assert_eq!(a.take_rest(), None);
        a.arm(&Fault::Stall { duration_ms: 1000 }, now);
        assert!(a.stalled_until(now).is_some());
        assert!(a.paused_until(now).is_none(), "a stall is not a pause");
        assert!(a.stalled_until(now + Duration::from_secs(2)).is_none());
        a.arm(&Fault::Pause { duration_ms: 500 }, now);
        a.arm(&Fault::Pause { duration_ms: 100 }, now);
        assert_eq!(
            a.paused_until(now),
            Some(now + Duration::from_millis(500)),
            "the later end wins"
        );
        a.arm(
            &Fault::Stall {
                duration_ms: u64::MAX,
            },
            now,
        );
        assert!(
            a.stalled_until(now + Duration::from_secs(3600)).is_some(),
            "no overflow panic"
        );
    }
}
