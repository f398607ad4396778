//! Re-anchor state machine: Binance's local-book procedure with a bounded diff buffer, anchor epochs and
//! fail-closed retries. Pure: the caller feeds diffs, snapshots and gap notices and acts on the returned
//! [`SyncOutcome`] (fetch a snapshot for the new epoch, count metrics, publish the book).
//!
//! Buffer overflow policy: **drop oldest and stay buffering** (counted as `BufferedDroppedOldest`). This
//! is safe: a snapshot newer than the dropped diffs makes them stale anyway, and a snapshot older than the
//! oldest kept diff fails the straddle check and is rejected as `TooOld` (a failed try).

mod outcome;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

pub use outcome::{GapReason, IgnoreReason, ReanchorReport, RejectReason, SyncOutcome, SyncState};

use crate::book::OrderBook;
use crate::events::{DepthDiff, DepthSnapshot};
use crate::sequence::{FirstDiffCheck, NextDiffCheck, check_first_diff, check_next_diff};

/// Tuning of [`BookSync`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncConfig {
    /// Maximum buffered diffs while not synced (oldest dropped beyond this).
    pub buffer_capacity: usize,
    /// Failed snapshot tries in one outage before the state becomes failed.
    pub max_failed_tries: u32,
}

impl Default for SyncConfig {
    /// 4096 diffs (≈ 80 s of the 20 ms SBE depth stream, ≈ 7 min of JSON `@depth@100ms`), 5 tries.
    fn default() -> Self {
        Self {
            buffer_capacity: 4096,
            max_failed_tries: 5,
        }
    }
}

/// Order book plus the Binance sync procedure around it.
///
/// Starts in [`SyncState::Buffering`] at epoch 1: the caller fetches a snapshot for [`BookSync::epoch`].
#[derive(Debug, Clone)]
pub struct BookSync {
    cfg: SyncConfig,
    state: SyncState,
    epoch: u64,
    failed_tries: u32,
    /// The published book; only meaningful while synced.
    book: OrderBook,
    /// Rebuild area (off to the side) holding a pending snapshot.
    scratch: OrderBook,
    pending: bool,
    buffer: VecDeque<DepthDiff>,
    overflow_dropped: u64,
    outage_start_us: Option<u64>,
}

impl BookSync {
    /// A state machine waiting for its first snapshot (epoch 1).
    pub fn new(cfg: SyncConfig) -> Self {
        Self {
            cfg,
            state: SyncState::Buffering,
            epoch: 1,
            failed_tries: 0,
            book: OrderBook::new(),
            scratch: OrderBook::new(),
            pending: false,
            buffer: VecDeque::with_capacity(cfg.buffer_capacity.min(1024)),
            overflow_dropped: 0,
            outage_start_us: None,
        }
    }

    /// Current state.
    pub fn state(&self) -> SyncState {
        self.state
    }

    /// Current anchor epoch (monotonic; bumped on every gap).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The book, **only when synced** (fail closed: `None` while buffering or failed).
    pub fn book(&self) -> Option<&OrderBook> {
        (self.state == SyncState::Synced).then_some(&self.book)
    }

    /// Book levels dropped by the per-side depth cap, over the published and the rebuild book
    /// (cumulative; see [`OrderBook`]). Export it as a counter.
    pub fn levels_dropped(&self) -> u64 {
        self.book
            .levels_dropped()
            .saturating_add(self.scratch.levels_dropped())
    }

    /// Update id of the synced book.
    pub fn last_update_id(&self) -> Option<u64> {
        self.book().map(OrderBook::last_update_id)
    }

    /// Diffs currently buffered.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Failed tries in the current outage.
    pub fn failed_tries(&self) -> u32 {
        self.failed_tries
    }

    /// The caller saw a break (reconnect, gap marker, undecodable depth frame): bump the epoch and buffer.
    /// From `Failed` this starts a fresh attempt with the try counter reset.
    pub fn on_gap(&mut self) -> SyncOutcome {
        if self.state == SyncState::Failed {
            self.failed_tries = 0;
        }
        self.start_outage(GapReason::External, None)
    }

    /// Feeds one depth diff.
    pub fn on_diff(&mut self, diff: DepthDiff) -> SyncOutcome {
        if diff.first_update_id > diff.last_update_id {
            return SyncOutcome::Ignored(IgnoreReason::MalformedDiff);
        }
        match self.state {
            SyncState::Failed => SyncOutcome::Ignored(IgnoreReason::Failed),
            SyncState::Synced => self.diff_while_synced(diff),
            SyncState::Buffering if self.pending => self.diff_with_pending_snapshot(diff),
            SyncState::Buffering => self.buffer_diff(diff),
        }
    }

    /// Feeds a snapshot fetched for `epoch_of_request`.
    pub fn on_snapshot(&mut self, epoch_of_request: u64, snapshot: &DepthSnapshot) -> SyncOutcome {
        if let Some(ignored) = self.check_snapshot_epoch(epoch_of_request) {
            return ignored;
        }
        self.scratch.load_snapshot(snapshot);
        self.pending = false;
        if self.scratch.is_crossed() {
            return self.reject(RejectReason::Crossed);
        }
        let snapshot_id = snapshot.last_update_id;
        let mut stale = 0;
        while self
            .buffer
            .front()
            .is_some_and(|d| d.last_update_id <= snapshot_id)
        {
            self.buffer.pop_front();
            stale += 1;
        }
        let Some(front) = self.buffer.front() else {
            self.pending = true;
            return SyncOutcome::SnapshotPending { epoch: self.epoch };
        };
        match check_first_diff(snapshot_id, front.first_update_id, front.last_update_id) {
            FirstDiffCheck::Bridges => self.replay_buffer(stale),
            _ => self.reject(RejectReason::TooOld),
        }
    }

    /// The caller could not fetch the snapshot for `epoch_of_request`; counts as a failed try.
    pub fn on_snapshot_failed(&mut self, epoch_of_request: u64) -> SyncOutcome {
        match self.check_snapshot_epoch(epoch_of_request) {
            Some(ignored) => ignored,
            None => self.reject(RejectReason::FetchFailed),
        }
    }

    fn check_snapshot_epoch(&self, epoch: u64) -> Option<SyncOutcome> {
        let reason = match self.state {
            SyncState::Failed => IgnoreReason::Failed,
            _ if epoch < self.epoch => IgnoreReason::StaleEpoch,
            _ if epoch > self.epoch => IgnoreReason::FutureEpoch,
            SyncState::Synced => IgnoreReason::NotBuffering,
            SyncState::Buffering => return None,
        };
        Some(SyncOutcome::Ignored(reason))
    }

    fn diff_while_synced(&mut self, diff: DepthDiff) -> SyncOutcome {
        let book_id = self.book.last_update_id();
        let reason = match check_next_diff(book_id, diff.first_update_id, diff.last_update_id) {
            NextDiffCheck::Stale => return SyncOutcome::Stale,
            NextDiffCheck::Contiguous => {
                self.book.apply_diff(&diff);
                if !self.book.is_crossed() {
                    return SyncOutcome::Applied;
                }
                GapReason::Crossed
            }
            NextDiffCheck::Gap { expected, got } => GapReason::Missed { expected, got },
            NextDiffCheck::Overlap => GapReason::Overlap,
            NextDiffCheck::Malformed => return SyncOutcome::Ignored(IgnoreReason::MalformedDiff),
        };
        // The diff that revealed the gap is valid stream data: it starts the new buffer.
        self.start_outage(reason, Some(diff))
    }

    fn diff_with_pending_snapshot(&mut self, diff: DepthDiff) -> SyncOutcome {
        let snapshot_id = self.scratch.last_update_id();
        self.outage_start_us.get_or_insert(diff.event_time_us);
        match check_first_diff(snapshot_id, diff.first_update_id, diff.last_update_id) {
            FirstDiffCheck::Stale => SyncOutcome::Stale,
            FirstDiffCheck::Bridges => {
                self.buffer.push_back(diff);
                self.pending = false;
                self.replay_buffer(0)
            }
            FirstDiffCheck::SnapshotTooOld | FirstDiffCheck::Malformed => {
                self.buffer.push_back(diff);
                self.reject(RejectReason::TooOld)
            }
        }
    }

    fn buffer_diff(&mut self, diff: DepthDiff) -> SyncOutcome {
        self.outage_start_us.get_or_insert(diff.event_time_us);
        let mut outcome = SyncOutcome::Buffered;
        if let Some(back) = self.buffer.back() {
            match check_next_diff(back.last_update_id, diff.first_update_id, diff.last_update_id) {
                NextDiffCheck::Contiguous => {}
                NextDiffCheck::Stale | NextDiffCheck::Malformed => return SyncOutcome::Stale,
                NextDiffCheck::Gap { .. } | NextDiffCheck::Overlap => {
                    let discarded = self.buffer.len();
                    self.buffer.clear();
                    outcome = SyncOutcome::BufferedAfterBreak { discarded };
                }
            }
        }
        if self.buffer.len() >= self.cfg.buffer_capacity.max(1) {
            self.buffer.pop_front();
            self.overflow_dropped += 1;
            outcome = SyncOutcome::BufferedDroppedOldest;
        }
        self.buffer.push_back(diff);
        outcome
    }

    /// Applies the whole (bridging-first, contiguous) buffer to the scratch book and swaps it in.
    fn replay_buffer(&mut self, stale_dropped: usize) -> SyncOutcome {
        let snapshot_id = self.scratch.last_update_id();
        let applied = self.buffer.len();
        let mut resumed_us = 0;
        for diff in self.buffer.drain(..) {
            self.scratch.apply_diff(&diff);
            resumed_us = diff.event_time_us;
        }
        if self.scratch.is_crossed() {
            return self.reject(RejectReason::Crossed);
        }
        std::mem::swap(&mut self.book, &mut self.scratch);
        let report = ReanchorReport {
            epoch: self.epoch,
            snapshot_id,
            failed_tries: self.failed_tries,
            applied_from_buffer: applied,
            stale_dropped,
            overflow_dropped: self.overflow_dropped,
            outage_start_event_time_us: self.outage_start_us,
            resumed_event_time_us: resumed_us,
        };
        self.state = SyncState::Synced;
        self.failed_tries = 0;
        self.overflow_dropped = 0;
        self.outage_start_us = None;
        SyncOutcome::Reanchored(report)
    }

    fn reject(&mut self, reason: RejectReason) -> SyncOutcome {
        self.pending = false;
        self.failed_tries = self.failed_tries.saturating_add(1);
        if self.failed_tries >= self.cfg.max_failed_tries {
            self.state = SyncState::Failed;
            self.buffer.clear();
            return SyncOutcome::Failed {
                epoch: self.epoch,
                reason,
                failed_tries: self.failed_tries,
            };
        }
        SyncOutcome::SnapshotRejected {
            epoch: self.epoch,
            reason,
            failed_tries: self.failed_tries,
        }
    }

    fn start_outage(&mut self, reason: GapReason, first: Option<DepthDiff>) -> SyncOutcome {
        self.epoch = self.epoch.saturating_add(1);
        self.state = SyncState::Buffering;
        self.pending = false;
        self.buffer.clear();
        self.overflow_dropped = 0;
        self.outage_start_us = first.as_ref().map(|d| d.event_time_us);
        if let Some(diff) = first {
            self.buffer.push_back(diff);
        }
        SyncOutcome::GapDetected {
            epoch: self.epoch,
            reason,
        }
    }
}
