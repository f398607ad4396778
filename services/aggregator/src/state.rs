//! Market state of one symbol: the re-anchor state machine, the feature engine and the bookkeeping
//! around them (anchor epochs, gap timing, snapshot requests). No I/O: the pipeline feeds decoded
//! events and drains [`Note`]s for metrics and logs; wall-clock inputs are passed in.

use crate::convert;
use features::{FeatureEngine, FeatureVector};
use market::{BookSync, InstrumentScale, Level, SyncConfig, SyncOutcome, SyncState, TopOfBook, Trade};
use pipeline_events::{EventView, StreamKind};
use std::time::{Duration, Instant};

/// Something the pipeline should count or log.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    GapDetected {
        epoch: u64,
        reason: &'static str,
    },
    Reanchored {
        epoch: u64,
        wall: Option<Duration>,
    },
    Failed {
        epoch: u64,
    },
    /// A re-anchor attempt ended because a newer gap started another.
    Superseded,
    /// An event whose values could not be converted (skipped).
    Poison,
    /// A snapshot from a connection older than the gap (ignored).
    SnapshotIgnored,
}

/// What a flush publishes (built by [`MarketState::publish`]).
#[derive(Debug, Clone)]
pub struct Published {
    pub fv: FeatureVector,
    pub epoch: u64,
    pub state: SyncState,
    pub last_update_id: u64,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
    pub reanchors: u64,
}

pub struct MarketState {
    scale: InstrumentScale,
    sync: BookSync,
    epoch_offset: u64,
    engine: FeatureEngine,
    top: TopOfBook,
    depth: usize,
    trades: Vec<Trade>,
    gap_started: Option<Instant>,
    gap_conn_epoch: u64,
    conn_epoch: Option<u64>,
    snapshot_seen: bool,
    last_request: Option<Instant>,
    diffs_since_request: u64,
    failed_at: Option<Instant>,
    reanchors: u64,
    notes: Vec<Note>,
    anchor_changed: bool,
    /// `sync.levels_dropped()` already handed to the metric.
    levels_dropped_reported: u64,
}

impl MarketState {
    pub fn new(scale: InstrumentScale, sync: SyncConfig, depth: usize, now: Instant) -> Self {
        MarketState {
            scale,
            sync: BookSync::new(sync),
            epoch_offset: 0,
            engine: FeatureEngine::new(scale),
            top: TopOfBook::with_capacity(depth.max(10)),
            depth,
            trades: Vec::new(),
            gap_started: Some(now),
            gap_conn_epoch: 0,
            conn_epoch: None,
            snapshot_seen: false,
            last_request: None,
            diffs_since_request: 0,
            failed_at: None,
            reanchors: 0,
            notes: Vec::new(),
            anchor_changed: true,
            levels_dropped_reported: 0,
        }
    }

    /// Published epoch = state machine epoch + offset (set once, before any book input, when a
    /// restart continues an earlier anchor).
    pub fn set_epoch_offset(&mut self, offset: u64) {
        self.epoch_offset = offset;
    }

    /// Redis holds a newer anchor epoch than this state (a refused flush): start a new epoch above
    /// `stored` (a gap: buffering until a snapshot) so the next flush is accepted and the published
    /// epoch stays monotonic.
    pub fn open_epoch_above(&mut self, stored: u64, now: Instant) {
        let before = self.sync.state();
        let o = self.sync.on_gap();
        if self.epoch() <= stored {
            self.epoch_offset = stored.saturating_add(1).saturating_sub(self.sync.epoch());
        }
        let t = self.engine.now_us();
        self.on_outcome(o, before, t, now);
    }

    pub fn epoch(&self) -> u64 {
        self.sync.epoch() + self.epoch_offset
    }

    pub fn sync_state(&self) -> SyncState {
        self.sync.state()
    }

    pub fn buffered(&self) -> usize {
        self.sync.buffered()
    }

    pub fn event_time_us(&self) -> u64 {
        self.engine.now_us()
    }

    pub fn drain_notes(&mut self) -> std::vec::Drain<'_, Note> {
        self.notes.drain(..)
    }

    /// Book levels dropped by the per-side depth cap since the last call (for a counter).
    pub fn take_levels_dropped(&mut self) -> u64 {
        let total = self.sync.levels_dropped();
        let new = total.saturating_sub(self.levels_dropped_reported);
        self.levels_dropped_reported = total;
        new
    }

    /// True once since the last call when the anchor (epoch or state) changed.
    pub fn take_anchor_changed(&mut self) -> bool {
        std::mem::take(&mut self.anchor_changed)
    }

    /// Applies one event. `feed_book = false` keeps book inputs (diffs, snapshots, gap markers)
    /// away from the state machine (replay before the anchor point); trades and BBOs always count.
    pub fn apply(&mut self, ev: &EventView<'_>, feed_book: bool, now: Instant) {
        let meta = ev.meta();
        if feed_book
            && !matches!(ev, EventView::Reconnected(_))
            && let Some(prev) = self.conn_epoch
            && meta.connection_epoch > prev
        {
            // A new connection without its Reconnected marker is a break all the same.
            self.external_gap(now, meta.connection_epoch);
        }
        if feed_book {
            self.conn_epoch = Some(self.conn_epoch.unwrap_or(0).max(meta.connection_epoch));
        }
        match ev {
            EventView::Trade(d) => match convert::trades(&self.scale, d, &mut self.trades) {
                Ok(()) => {
                    for t in &self.trades {
                        self.engine.on_trade(t);
                    }
                }
                Err(_) => self.notes.push(Note::Poison),
            },
            EventView::BestBidAsk(d) => match convert::bbo(&self.scale, d, self.engine.now_us()) {
                Ok(b) => self.engine.on_bbo(&b),
                Err(_) => self.notes.push(Note::Poison),
            },
            EventView::DepthDiff(d) if feed_book => match convert::diff(&self.scale, d) {
                Ok(diff) => {
                    let t = diff.event_time_us;
                    self.diffs_since_request += 1;
                    let before = self.sync.state();
                    let o = self.sync.on_diff(diff);
                    self.on_outcome(o, before, t, now);
                }
                Err(_) => self.notes.push(Note::Poison),
            },
            EventView::DepthSnapshot(d) if feed_book => {
                if meta.connection_epoch < self.gap_conn_epoch {
                    self.notes.push(Note::SnapshotIgnored);
                    return;
                }
                match convert::snapshot(&self.scale, d) {
                    Ok(s) => {
                        self.snapshot_seen = true;
                        let before = self.sync.state();
                        let o = self.sync.on_snapshot(self.sync.epoch(), &s);
                        let t = self.engine.now_us();
                        self.on_outcome(o, before, t, now);
                    }
                    Err(_) => self.notes.push(Note::Poison),
                }
            }
            EventView::StreamGap(d) if feed_book => {
                let book_stream = matches!(
                    d.stream(),
                    Ok(StreamKind::All | StreamKind::Depth | StreamKind::DepthSnapshot)
                );
                if book_stream {
                    self.external_gap(now, meta.connection_epoch);
                }
            }
            EventView::Reconnected(_) if feed_book => self.external_gap(now, meta.connection_epoch),
            _ => {}
        }
    }

    fn external_gap(&mut self, now: Instant, conn_epoch: u64) {
        let idle =
            self.sync.state() == SyncState::Buffering && self.sync.buffered() == 0 && !self.snapshot_seen;
        self.gap_conn_epoch = self.gap_conn_epoch.max(conn_epoch);
        if idle {
            return; // still waiting for the first diff of this attempt: nothing to discard
        }
        let before = self.sync.state();
        let o = self.sync.on_gap();
        let t = self.engine.now_us();
        self.on_outcome(o, before, t, now);
    }

    fn on_outcome(&mut self, o: SyncOutcome, before: SyncState, time_us: u64, now: Instant) {
        match o {
            SyncOutcome::GapDetected { reason, .. } => {
                if before == SyncState::Buffering {
                    self.notes.push(Note::Superseded);
                }
                self.gap_started = Some(now);
                self.snapshot_seen = false;
                self.last_request = None;
                self.diffs_since_request = 0;
                self.failed_at = None;
                self.anchor_changed = true;
                self.engine.on_book_lost(time_us);
                self.notes.push(Note::GapDetected {
                    epoch: self.epoch(),
                    reason: reason.label(),
                });
            }
            SyncOutcome::Reanchored(_) => {
                self.reanchors += 1;
                self.anchor_changed = true;
                let wall = self.gap_started.take().map(|t| now.saturating_duration_since(t));
                self.notes.push(Note::Reanchored {
                    epoch: self.epoch(),
                    wall,
                });
                self.book_view(time_us);
            }
            SyncOutcome::Applied => self.book_view(time_us),
            SyncOutcome::Failed { .. } => {
                self.anchor_changed = true;
                self.gap_started = None;
                self.failed_at = Some(now);
                self.notes.push(Note::Failed { epoch: self.epoch() });
            }
            _ => {}
        }
    }

    fn book_view(&mut self, time_us: u64) {
        if let Some(book) = self.sync.book() {
            book.top_n(self.depth.max(10), &mut self.top);
            self.engine.on_book(time_us, &self.top);
        }
    }

    /// Wall-clock duties while not synced. Returns the epoch to request a snapshot for, if a
    /// request is due: none arrived within `wait` of the gap (or of the last request). A request
    /// that went unanswered while diffs kept flowing counts as a failed try; after `cooldown` in
    /// `failed` a new attempt starts.
    pub fn on_timer(&mut self, now: Instant, wait: Duration, cooldown: Duration) -> Option<u64> {
        match self.sync.state() {
            SyncState::Synced => None,
            SyncState::Failed => {
                let since = self.failed_at.get_or_insert(now);
                if now.saturating_duration_since(*since) < cooldown {
                    return None;
                }
                let o = self.sync.on_gap();
                self.on_outcome(o, SyncState::Failed, self.engine.now_us(), now);
                self.last_request = Some(now);
                Some(self.epoch())
            }
            SyncState::Buffering => {
                let since = self.last_request.or(self.gap_started).unwrap_or(now);
                if now.saturating_duration_since(since) < wait {
                    return None;
                }
                if self.last_request.is_some() && self.diffs_since_request > 0 && !self.snapshot_seen {
                    let before = self.sync.state();
                    let o = self.sync.on_snapshot_failed(self.sync.epoch());
                    self.on_outcome(o, before, self.engine.now_us(), now);
                    if self.sync.state() == SyncState::Failed {
                        return None;
                    }
                }
                self.last_request = Some(now);
                self.diffs_since_request = 0;
                self.snapshot_seen = false;
                Some(self.epoch())
            }
        }
    }

    /// The vector and book a flush writes. Book levels only while synced (fail closed).
    pub fn publish(&self) -> Published {
        let (bids, asks, last_update_id) = match self.sync.book() {
            Some(b) => {
                let mut top = TopOfBook::with_capacity(self.depth);
                b.top_n(self.depth, &mut top);
                (top.bids, top.asks, b.last_update_id())
            }
            None => (Vec::new(), Vec::new(), 0),
        };
        Published {
            fv: self.engine.compute(),
            epoch: self.epoch(),
            state: self.sync.state(),
            last_update_id,
            bids,
            asks,
            reanchors: self.reanchors,
        }
    }

    pub fn scale(&self) -> &InstrumentScale {
        &self.scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_stored_epoch_is_overtaken_by_a_gap_never_matched_or_undercut() {
        let now = Instant::now();
        let mut s = MarketState::new(InstrumentScale::BTCUSDT_SPOT, SyncConfig::default(), 10, now);
        s.set_epoch_offset(1);
        assert_eq!(s.epoch(), 2);
        s.take_anchor_changed();
        s.open_epoch_above(900, now);
        assert_eq!(s.epoch(), 901, "one above the stored epoch");
        assert_eq!(s.sync_state(), SyncState::Buffering, "re-anchors from a snapshot");
        assert!(s.take_anchor_changed(), "flushed at once");
        assert!(
            s.drain_notes()
                .any(|n| matches!(n, Note::GapDetected { epoch: 901, .. })),
            "counted and logged like any gap"
        );
        s.open_epoch_above(3, now);
        assert_eq!(
            s.epoch(),
            902,
            "a lower stored epoch never lowers ours: the gap still bumps it"
        );
    }
}
