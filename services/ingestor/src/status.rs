//! Liveness shared between the stream client and the monitor, and the monitor itself: once a
//! second it exports `ingestor_last_message_age_seconds` and the throughput gauge and sets
//! `/health` components and `/ready`:
//!
//! - `stream`: `connected` (healthy); `disconnected` (degraded while reconnecting, unhealthy
//!   once down longer than `exchange.unhealthy_after_secs`, so `/health` answers 503);
//! - `kinesis`: `ok`, or `retrying` (degraded) while PutRecords fails and nothing is accepted;
//! - `last_message_age`: `fresh`, `stale` (degraded) past the idle timeout, or `no_data`;
//! - ready = stream connected and Kinesis ok.

use crate::metrics::HotMetrics;
use metrics_schema::labels::{KinesisError, LabelValue};
use metrics_schema::services::ingestor::KinesisErrorLabels;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;
use svc_kit::health::{Health, Level};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Default)]
pub struct Shared {
    pub connected: AtomicBool,
    pub down_since_ns: AtomicI64,
    pub last_msg_ns: AtomicI64,
    pub messages: AtomicU64,
    pub epoch: Arc<AtomicU64>,
}

/// The stream client's handle on liveness.
pub struct StreamStatus {
    pub shared: Arc<Shared>,
    pub metrics: HotMetrics,
    pub health: Health,
    pub symbols: usize,
    /// Events were dropped; a `StreamGap(Dropped)` marker goes out once there is room.
    pub drop_marker_pending: bool,
}

impl StreamStatus {
    pub fn connected(&self, epoch: u64) {
        self.shared.connected.store(true, Ordering::Release);
        self.shared.epoch.store(epoch, Ordering::Release);
        self.metrics.all.sbe_connection_status.set(1.0);
        self.health.set("stream", Level::Healthy, "connected", None);
    }

    pub fn disconnected(&self, now_ns: i64) {
        self.shared.connected.store(false, Ordering::Release);
        self.shared.down_since_ns.store(now_ns, Ordering::Release);
        self.metrics.all.sbe_connection_status.set(0.0);
        self.health.set(
            "stream",
            Level::Degraded,
            "disconnected",
            Some("reconnecting".into()),
        );
    }

    pub fn message(&self, recv_ns: i64) {
        self.shared.last_msg_ns.store(recv_ns, Ordering::Relaxed);
        self.shared.messages.fetch_add(1, Ordering::Relaxed);
    }
}

pub struct Monitor {
    pub shared: Arc<Shared>,
    pub metrics: HotMetrics,
    pub health: Health,
    pub unhealthy_after: Duration,
    pub stale_after: Duration,
}

fn failed_total(m: &HotMetrics) -> u64 {
    KinesisError::ALL
        .iter()
        .map(|&error_type| {
            m.all
                .kinesis_failed_records
                .get_or_create(&KinesisErrorLabels { error_type })
                .get()
        })
        .sum()
}

impl Monitor {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut prev_msgs = 0u64;
        let mut prev_at = std::time::Instant::now();
        let (mut prev_failed, mut prev_sent) = (failed_total(&self.metrics), 0u64);
        let mut kinesis_ok = true;
        self.health.set("kinesis", Level::Healthy, "ok", None);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let now_ns = crate::clock::now_ns();
            let msgs = self.shared.messages.load(Ordering::Relaxed);
            let dt = prev_at.elapsed().as_secs_f64().max(1e-3);
            self.metrics
                .all
                .sbe_throughput
                .set((msgs - prev_msgs) as f64 / dt);
            (prev_msgs, prev_at) = (msgs, std::time::Instant::now());

            let last = self.shared.last_msg_ns.load(Ordering::Relaxed);
            if last > 0 {
                let age = (now_ns - last).max(0) as f64 / 1e9;
                self.metrics.all.last_message_age.set(age);
                if age > self.stale_after.as_secs_f64() {
                    self.health.set(
                        "last_message_age",
                        Level::Degraded,
                        "stale",
                        Some(format!("{age:.1} s")),
                    );
                } else {
                    self.health.set("last_message_age", Level::Healthy, "fresh", None);
                }
            } else {
                self.health
                    .set("last_message_age", Level::Degraded, "no_data", None);
            }

            let connected = self.shared.connected.load(Ordering::Acquire);
            if !connected {
                let down = (now_ns - self.shared.down_since_ns.load(Ordering::Acquire)).max(0) as f64 / 1e9;
                let level = if down > self.unhealthy_after.as_secs_f64() {
                    Level::Unhealthy
                } else {
                    Level::Degraded
                };
                self.health.set(
                    "stream",
                    level,
                    "disconnected",
                    Some(format!("down {down:.0} s; reconnecting")),
                );
            }

            let (failed, sent) = (
                failed_total(&self.metrics),
                self.metrics.all.kinesis_records_sent.get(),
            );
            if sent > prev_sent {
                kinesis_ok = true;
            } else if failed > prev_failed {
                kinesis_ok = false;
            }
            (prev_failed, prev_sent) = (failed, sent);
            if kinesis_ok {
                self.health.set("kinesis", Level::Healthy, "ok", None);
            } else {
                self.health.set(
                    "kinesis",
                    Level::Degraded,
                    "retrying",
                    Some("PutRecords failing; buffering".into()),
                );
            }
            self.health.set_ready(connected && kinesis_ok);
        }
    }
}
