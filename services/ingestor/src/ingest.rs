//! The per-frame hot path, free of I/O: decode the SBE frame, count it, check its sequence,
//! normalise it into a pipeline event, and queue the event (plus any gap / reconnect marker and
//! snapshot request) for the caller to send.

use crate::metrics::HotMetrics;
use crate::normalize::{Normalizer, encode};
use crate::seq::{SequenceChecker, Verdict};
use binance_sbe::{StreamEvent, decode_stream_frame};
use bytes::Bytes;
use kinesis_io::producer::Outgoing;
use metrics_schema::labels::{DropReason, ErrorType, Intentional, MessageType, Stage};
use pipeline_events::{
    Event, EventMeta, GapReason, ReconnectReason, ReconnectedEvent, StreamGapEvent, StreamKind,
};
use std::sync::Arc;
use std::time::Instant;

/// Why a depth snapshot is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotReason {
    Reconnect,
    Gap,
    Dropped,
    Periodic,
    Control,
}

/// A request for a REST depth snapshot of one symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRequest {
    pub symbol: Arc<str>,
    pub reason: SnapshotReason,
    /// The snapshot must reach at least this update id (the first buffered diff's `U - 1`), or
    /// it is too old to bridge the stream and is fetched again.
    pub min_update_id: Option<i64>,
}

struct Symbol {
    key: Arc<str>,
    seq: SequenceChecker,
    /// A snapshot is due once the next depth diff arrives (Binance: buffer first, then fetch).
    snapshot_due: Option<SnapshotReason>,
}

/// Per-connection ingest state for the configured symbols.
pub struct Ingest {
    symbols: Vec<Symbol>,
    norm: Normalizer,
    epoch: u64,
    wants_depth: bool,
    max_event_bytes: usize,
    metrics: HotMetrics,
    /// Events to send, in order.
    pub out: Vec<Outgoing>,
    /// Snapshots to fetch.
    pub snapshots: Vec<SnapshotRequest>,
}

/// Frame outcome, for the caller's bookkeeping (recording, last-message time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameOutcome {
    Forwarded,
    Skipped,
    Invalid,
}

impl Ingest {
    /// `wants_depth`: the depth stream is subscribed, so (re)connects and gaps need snapshots.
    pub fn new(symbols: &[String], wants_depth: bool, max_event_bytes: usize, metrics: HotMetrics) -> Self {
        Self {
            symbols: symbols
                .iter()
                .map(|s| Symbol {
                    key: Arc::from(s.as_str()),
                    seq: SequenceChecker::new(),
                    snapshot_due: None,
                })
                .collect(),
            norm: Normalizer::new(),
            epoch: 0,
            wants_depth,
            max_event_bytes,
            metrics,
            out: Vec::with_capacity(64),
            snapshots: Vec::new(),
        }
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    fn meta(&self, ingest_time_ns: i64) -> EventMeta {
        EventMeta {
            ingest_time_ns,
            connection_epoch: self.epoch,
        }
    }

    /// A connection is up: a new epoch (always above the last one and, being at least the wall
    /// clock in ms, above any epoch of an earlier process), reset chains, one `Reconnected`
    /// marker per symbol, and a snapshot due with the first diff.
    pub fn connected(&mut self, reason: ReconnectReason, downtime_ns: Option<i64>, now_ns: i64) {
        let previous = (self.epoch != 0).then_some(self.epoch);
        let wall_ms = u64::try_from(now_ns / 1_000_000).unwrap_or(0);
        self.epoch = self.epoch.saturating_add(1).max(wall_ms);
        let meta = self.meta(now_ns);
        for i in 0..self.symbols.len() {
            self.symbols[i].seq.reset();
            self.symbols[i].snapshot_due = self.wants_depth.then_some(SnapshotReason::Reconnect);
            let key = self.symbols[i].key.clone();
            let ev = Event::Reconnected(ReconnectedEvent {
                meta,
                symbol: &key,
                previous_epoch: previous,
                reason,
                downtime_ns,
            });
            self.push(&key, &ev);
        }
    }

    /// The connection was lost (or events were dropped locally): one `StreamGap` per symbol
    /// covering every stream. After a local drop the chains restart and a snapshot is due.
    pub fn gap_all(&mut self, reason: GapReason, now_ns: i64) {
        let meta = self.meta(now_ns);
        for i in 0..self.symbols.len() {
            let key = self.symbols[i].key.clone();
            let last_good = self.symbols[i].seq.depth_position();
            if reason == GapReason::Dropped {
                self.symbols[i].seq.reset();
                if self.wants_depth {
                    self.symbols[i].snapshot_due = Some(SnapshotReason::Dropped);
                }
            }
            let ev = Event::StreamGap(StreamGapEvent {
                meta,
                symbol: &key,
                stream: StreamKind::All,
                reason,
                last_good_update_id: last_good,
                received_update_id: None,
                event_time_us: None,
            });
            self.push(&key, &ev);
        }
    }

    fn push(&mut self, key: &Arc<str>, ev: &Event<'_>) {
        let mut buf = Vec::with_capacity(128);
        match encode(ev, &mut buf) {
            Ok(_) => self.queue(key, buf),
            Err(e) => {
                tracing::warn!(error = %e, "cannot encode a marker event");
                self.metrics.error(ErrorType::Internal, Stage::Decode);
            }
        }
    }

    fn queue(&mut self, key: &Arc<str>, buf: Vec<u8>) {
        if buf.len() > self.max_event_bytes {
            self.metrics.dropped(DropReason::Oversized, Intentional::Yes);
            return;
        }
        self.out.push(Outgoing {
            partition_key: key.clone(),
            data: Bytes::from(buf),
        });
    }

    /// One binary frame received at `recv_ns` (wall clock).
    pub fn frame(&mut self, frame: &[u8], recv_ns: i64) -> FrameOutcome {
        let started = Instant::now();
        let ev = match decode_stream_frame(frame) {
            Ok(ev) => ev,
            Err(e) => {
                self.metrics.decode_error(&e);
                return FrameOutcome::Invalid;
            }
        };
        self.metrics.decoded(message_type(&ev), started.elapsed());
        let Some(idx) = self.symbols.iter().position(|s| &*s.key == ev.symbol()) else {
            self.metrics.dropped(DropReason::Unsubscribed, Intentional::Yes);
            return FrameOutcome::Skipped;
        };
        let meta = self.meta(recv_ns);
        let key = self.symbols[idx].key.clone();
        let verdict = match &ev {
            StreamEvent::DepthDiff(d) => {
                let (first, last) = (d.first_book_update_id(), d.last_book_update_id());
                let v = self.symbols[idx].seq.depth(first, last);
                // A malformed diff (negative ids, `U > u`) neither anchors nor consumes the due
                // snapshot; ids are ≥ 0 past that check, so `U - 1` cannot wrap (U = 0 → 0).
                if v != Verdict::Malformed
                    && let Some(reason) = self.symbols[idx].snapshot_due.take()
                {
                    self.snapshots.push(SnapshotRequest {
                        symbol: key.clone(),
                        reason,
                        min_update_id: Some(first.saturating_sub(1).max(0)),
                    });
                }
                (v, StreamKind::Depth)
            }
            StreamEvent::BestBidAsk(d) => (
                self.symbols[idx].seq.best_bid_ask(d.book_update_id()),
                StreamKind::BestBidAsk,
            ),
            StreamEvent::Trades(d) => (
                self.symbols[idx].seq.trades(d.trades().map(|t| t.id())),
                StreamKind::Trade,
            ),
            StreamEvent::DepthSnapshot(_) => {
                self.metrics.dropped(DropReason::Unsubscribed, Intentional::Yes);
                return FrameOutcome::Skipped;
            }
        };
        match verdict {
            (Verdict::InOrder | Verdict::Stale, _) => {}
            (Verdict::Break { last_good, received }, stream) => {
                self.metrics.gap(stream);
                let gap = Event::StreamGap(StreamGapEvent {
                    meta,
                    symbol: &key,
                    stream,
                    reason: GapReason::SequenceGap,
                    last_good_update_id: Some(last_good),
                    received_update_id: Some(received),
                    event_time_us: Some(ev.event_time_us()),
                });
                self.push(&key, &gap);
                if stream == StreamKind::Depth {
                    self.snapshots.push(SnapshotRequest {
                        symbol: key.clone(),
                        reason: SnapshotReason::Gap,
                        min_update_id: Some(received.saturating_sub(1).max(0)),
                    });
                }
            }
            (Verdict::Malformed, _) => {
                self.metrics.error(ErrorType::Malformed, Stage::Sequence);
                return FrameOutcome::Invalid;
            }
        }
        let mut buf = Vec::with_capacity(frame.len() + 32);
        match self.norm.stream_event(&ev, meta, &mut buf) {
            Ok(Some(_)) => {
                self.queue(&key, buf);
                FrameOutcome::Forwarded
            }
            Ok(None) => FrameOutcome::Skipped,
            Err(e) => {
                tracing::warn!(error = %e, "cannot encode a pipeline event");
                self.metrics.error(ErrorType::Malformed, Stage::Decode);
                FrameOutcome::Invalid
            }
        }
    }
}

fn message_type(ev: &StreamEvent<'_>) -> MessageType {
    match ev {
        StreamEvent::Trades(_) => MessageType::Trade,
        StreamEvent::BestBidAsk(_) => MessageType::BestBidAsk,
        StreamEvent::DepthDiff(_) => MessageType::DepthDiff,
        StreamEvent::DepthSnapshot(_) => MessageType::DepthSnapshot,
    }
}

#[cfg(test)]
#[path = "ingest_tests.rs"]
mod tests;
