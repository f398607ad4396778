//! Counters for `GET /admin/stats`, so tests can do exact event accounting.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::Serialize;

use crate::streams::StreamKind;

/// Per-stream counters.
#[derive(Debug, Default)]
pub struct PerStream([AtomicU64; 4]);

impl PerStream {
    /// Adds one for `kind`.
    pub fn inc(&self, kind: StreamKind) {
        if let Some(c) = self.0.get(kind.index()) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn snapshot(&self) -> BTreeMap<String, u64> {
        StreamKind::ALL
            .iter()
            .map(|k| {
                (
                    k.suffix().to_owned(),
                    self.0.get(k.index()).map_or(0, |c| c.load(Ordering::Relaxed)),
                )
            })
            .collect()
    }
}

/// All simulator counters.
#[derive(Debug, Default)]
pub struct Stats {
    /// Frames published by the feed, per stream (after drop faults).
    pub published: PerStream,
    /// Frames written to clients, per stream (summed over clients).
    pub sent: PerStream,
    pub clients: AtomicU64,
    pub connections_total: AtomicU64,
    pub rejected_upgrades: AtomicU64,
    pub slow_client_disconnects: AtomicU64,
    pub ping_timeouts: AtomicU64,
    pub lifetime_disconnects: AtomicU64,
    pub message_rate_disconnects: AtomicU64,
    pub forced_disconnects: AtomicU64,
    pub pings_sent: AtomicU64,
    pub pongs_received: AtomicU64,
    pub control_messages: AtomicU64,
    pub dropped_depth_diffs: AtomicU64,
    pub corrupted_frames: AtomicU64,
    pub truncated_frames: AtomicU64,
    pub unknown_template_frames: AtomicU64,
    pub server_shutdown_events: AtomicU64,
    pub stalls: AtomicU64,
    pub pauses: AtomicU64,
    /// Frames the market produced during a network stall and no client received.
    pub stall_lost_frames: AtomicU64,
    pub rest_requests: AtomicU64,
    pub rest_429: AtomicU64,
    pub rest_418: AtomicU64,
    pub rest_faults_served: AtomicU64,
    pub rest_delayed: AtomicU64,
    pub source_events: AtomicU64,
    pub source_errors: AtomicU64,
    pub source_loops: AtomicU64,
    pub source_finished: AtomicBool,
    pub last_update_id: AtomicU64,
    pub last_event_time_us: AtomicU64,
    faults: Mutex<BTreeMap<&'static str, u64>>,
}

/// Adds one.
pub fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Stats {
    /// Counts a fault request by kind.
    pub fn fault_requested(&self, kind: &'static str) {
        if let Ok(mut m) = self.faults.lock() {
            *m.entry(kind).or_default() += 1;
        }
    }

    /// A serialisable copy.
    pub fn snapshot(&self) -> StatsSnapshot {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            published: self.published.snapshot(),
            sent: self.sent.snapshot(),
            // Acquire pairs with the session's Release decrement: a client seen gone has its
            // disconnect reason counted in the fields read below.
            clients: self.clients.load(Ordering::Acquire),
            connections_total: g(&self.connections_total),
            rejected_upgrades: g(&self.rejected_upgrades),
            disconnects: Disconnects {
                slow_client: g(&self.slow_client_disconnects),
                ping_timeout: g(&self.ping_timeouts),
                lifetime: g(&self.lifetime_disconnects),
                message_rate: g(&self.message_rate_disconnects),
                forced: g(&self.forced_disconnects),
            },
            pings_sent: g(&self.pings_sent),
            pongs_received: g(&self.pongs_received),
            control_messages: g(&self.control_messages),
            faults_requested: self
                .faults
                .lock()
                .map(|m| m.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect())
                .unwrap_or_default(),
            faults_applied: FaultsApplied {
                dropped_depth_diffs: g(&self.dropped_depth_diffs),
                corrupted_frames: g(&self.corrupted_frames),
                truncated_frames: g(&self.truncated_frames),
                unknown_template_frames: g(&self.unknown_template_frames),
                server_shutdown_events: g(&self.server_shutdown_events),
                stalls: g(&self.stalls),
                pauses: g(&self.pauses),
                stall_lost_frames: g(&self.stall_lost_frames),
                rest_faults_served: g(&self.rest_faults_served),
                rest_delayed: g(&self.rest_delayed),
            },
            rest: RestStats {
                requests: g(&self.rest_requests),
                rate_limited_429: g(&self.rest_429),
                banned_418: g(&self.rest_418),
            },
            source: SourceStats {
                events: g(&self.source_events),
                errors: g(&self.source_errors),
                loops: g(&self.source_loops),
                finished: self.source_finished.load(Ordering::Relaxed),
                last_update_id: g(&self.last_update_id),
                last_event_time_us: g(&self.last_event_time_us),
            },
        }
    }
}

/// `GET /admin/stats` body.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub published: BTreeMap<String, u64>,
    pub sent: BTreeMap<String, u64>,
    pub clients: u64,
    pub connections_total: u64,
    pub rejected_upgrades: u64,
    pub disconnects: Disconnects,
    pub pings_sent: u64,
    pub pongs_received: u64,
    pub control_messages: u64,
    pub faults_requested: BTreeMap<String, u64>,
    pub faults_applied: FaultsApplied,
    pub rest: RestStats,
    pub source: SourceStats,
}

/// Why connections ended (server side).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Disconnects {
    pub slow_client: u64,
    pub ping_timeout: u64,
    pub lifetime: u64,
    pub message_rate: u64,
    pub forced: u64,
}

/// Effects of faults.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct FaultsApplied {
    pub dropped_depth_diffs: u64,
    pub corrupted_frames: u64,
    pub truncated_frames: u64,
    pub unknown_template_frames: u64,
    pub server_shutdown_events: u64,
    pub stalls: u64,
    #[serde(default)]
    pub pauses: u64,
    /// Frames produced during network stalls and not delivered (not counted in `sent`).
    #[serde(default)]
    pub stall_lost_frames: u64,
    pub rest_faults_served: u64,
    pub rest_delayed: u64,
}

/// REST accounting.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct RestStats {
    pub requests: u64,
    pub rate_limited_429: u64,
    pub banned_418: u64,
}

/// Source progress.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct SourceStats {
    pub events: u64,
    pub errors: u64,
    pub loops: u64,
    pub finished: bool,
    pub last_update_id: u64,
    pub last_event_time_us: u64,
}
