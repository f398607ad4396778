//! Hands events to the Kinesis producer's bounded channel. A full channel is waited on for at
//! most `max_block` (backpressure reaches the socket read loop); past that, events are dropped and
//! counted (`ingestor_events_dropped_total{reason="buffer_full",intentional="false"}`: loss, not a
//! policy decision, so it raises `IngestorEventsDropped`) instead of stalling the connection until
//! the exchange drops it, and the caller marks the loss in-band.

use crate::metrics::HotMetrics;
use kinesis_io::producer::Outgoing;
use metrics_schema::labels::{DropReason, Intentional};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

pub struct Forwarder {
    tx: mpsc::Sender<Outgoing>,
    max_block: Duration,
    /// Dropping: do not wait again until the channel has room.
    overflowing: bool,
    metrics: HotMetrics,
}

impl Forwarder {
    pub fn new(tx: mpsc::Sender<Outgoing>, max_block: Duration, metrics: HotMetrics) -> Self {
        Self {
            tx,
            max_block,
            overflowing: false,
            metrics,
        }
    }

    /// Sends every event of `out` in order (emptying it); returns how many were dropped.
    pub async fn send_all(&mut self, out: &mut Vec<Outgoing>) -> usize {
        let mut dropped = 0;
        for ev in out.drain(..) {
            let ev = match self.tx.try_send(ev) {
                Ok(()) => {
                    self.overflowing = false;
                    continue;
                }
                Err(TrySendError::Closed(_)) => {
                    self.metrics.dropped(DropReason::Shutdown, Intentional::Yes);
                    dropped += 1;
                    continue;
                }
                Err(TrySendError::Full(ev)) => ev,
            };
            if self.overflowing {
                self.metrics.dropped(DropReason::BufferFull, Intentional::No);
                dropped += 1;
                continue;
            }
            match tokio::time::timeout(self.max_block, self.tx.send(ev)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => {
                    self.metrics.dropped(DropReason::Shutdown, Intentional::Yes);
                    dropped += 1;
                }
                Err(_) => {
                    tracing::warn!(max_block = ?self.max_block, "Kinesis buffer full; dropping events until it drains");
                    self.overflowing = true;
                    self.metrics.dropped(DropReason::BufferFull, Intentional::No);
                    dropped += 1;
                }
            }
        }
        dropped
    }

    /// Room for at least `n` more events right now.
    pub fn has_room(&self, n: usize) -> bool {
        self.tx.capacity() >= n
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use metrics_schema::IngestorMetrics;
    use metrics_schema::services::ingestor::DropLabels;
    use prometheus_client::registry::Registry;

    fn drops(m: &IngestorMetrics, reason: DropReason, intentional: Intentional) -> u64 {
        m.events_dropped
            .get_or_create(&DropLabels { reason, intentional })
            .get()
    }

    /// A full buffer is data loss, not a policy decision: it must not be counted with the
    /// intentional drops the e2e accounting subtracts.
    #[tokio::test]
    async fn a_full_buffer_is_counted_as_an_unintentional_drop() {
        let m = IngestorMetrics::register(&mut Registry::default());
        let (tx, _rx) = mpsc::channel(1);
        let mut fw = Forwarder::new(tx, Duration::from_millis(1), HotMetrics::new(m.clone()));
        let ev = || Outgoing {
            partition_key: "BTCUSDT".into(),
            data: bytes::Bytes::from_static(b"x"),
        };
        let mut out = vec![ev(), ev(), ev()];
        assert_eq!(fw.send_all(&mut out).await, 2);
        assert_eq!(drops(&m, DropReason::BufferFull, Intentional::No), 2);
        assert_eq!(drops(&m, DropReason::BufferFull, Intentional::Yes), 0);
    }
}
