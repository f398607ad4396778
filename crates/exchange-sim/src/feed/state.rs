//! The book the simulator serves over REST, kept in step with the depth diffs it streams.
//!
//! It follows Binance's own procedure ([`market::BookSync`]): diffs that arrive before the source's
//! snapshot (the replay's bridging diff precedes its snapshot line) are buffered, then the snapshot
//! is loaded and the buffered diffs applied. A REST snapshot therefore always has a `lastUpdateId`
//! no older than the last diff already published.

use market::{BookSync, DepthDiff, DepthSnapshot, OrderBook, SyncConfig, SyncOutcome, TopOfBook};

/// Served book plus the `@depth20` throttle.
#[derive(Debug, Clone)]
pub struct MarketState {
    sync: BookSync,
    /// The source's latest snapshot while it waits for its bridging diff: the source vouches for it,
    /// so it is served as is until the book syncs.
    pending: Option<OrderBook>,
    last_depth20_us: Option<u64>,
    out_of_sequence: u64,
}

impl Default for MarketState {
    fn default() -> Self {
        Self {
            sync: BookSync::new(SyncConfig {
                buffer_capacity: 65_536,
                max_failed_tries: u32::MAX,
            }),
            pending: None,
            last_depth20_us: None,
            out_of_sequence: 0,
        }
    }
}

impl MarketState {
    /// Loads the source's snapshot. Returns `true` when the book is synced afterwards.
    pub fn on_snapshot(&mut self, snapshot: &DepthSnapshot) -> bool {
        let epoch = self.sync.epoch();
        let outcome = self.sync.on_snapshot(epoch, snapshot);
        self.pending = matches!(outcome, SyncOutcome::SnapshotPending { .. })
            .then(|| OrderBook::from_snapshot(snapshot));
        self.is_synced()
    }

    /// Applies (or buffers) a diff. Returns `true` when the book is synced afterwards.
    pub fn on_diff(&mut self, diff: DepthDiff) -> bool {
        if let SyncOutcome::GapDetected { .. } = self.sync.on_diff(diff) {
            self.out_of_sequence += 1;
        }
        if self.is_synced() {
            self.pending = None;
        }
        self.is_synced()
    }

    /// The source restarted (replay loop): forget the book until the next snapshot.
    pub fn reset(&mut self) {
        let _ = self.sync.on_gap();
        self.pending = None;
        self.last_depth20_us = None;
    }

    /// Is the book following the stream?
    pub fn is_synced(&self) -> bool {
        self.sync.book().is_some()
    }

    /// Is there a book to serve over REST (synced, or a source snapshot awaiting its bridge)?
    pub fn is_servable(&self) -> bool {
        self.is_synced() || self.pending.is_some()
    }

    /// Source diffs that did not chain (`U != previous u + 1`); 0 for a healthy source.
    pub fn out_of_sequence(&self) -> u64 {
        self.out_of_sequence
    }

    /// Update id and top `limit` levels per side, when synced.
    pub fn snapshot(&self, limit: usize) -> Option<(u64, TopOfBook)> {
        let book = self.sync.book().or(self.pending.as_ref())?;
        let mut top = TopOfBook::with_capacity(limit.min(5000));
        book.top_n(limit, &mut top);
        Some((book.last_update_id(), top))
    }

    /// The `@depth20` content when one is due at `event_time_us` (one per `interval_us`).
    pub fn depth20_due(&mut self, event_time_us: u64, interval_us: u64) -> Option<(u64, TopOfBook)> {
        let due = self
            .last_depth20_us
            .is_none_or(|last| event_time_us >= last.saturating_add(interval_us));
        if !due {
            return None;
        }
        let snap = self.snapshot(20)?;
        self.last_depth20_us = Some(event_time_us);
        Some(snap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use market::Level;

    fn diff(first: u64, last: u64) -> DepthDiff {
        DepthDiff {
            first_update_id: first,
            last_update_id: last,
            event_time_us: last * 1000,
            bids: vec![Level::new(100, i64::try_from(last).unwrap())],
            asks: vec![Level::new(101, 1)],
        }
    }

    #[test]
    fn bridging_diff_before_the_snapshot_is_buffered_and_applied() {
        let mut s = MarketState::default();
        assert!(!s.on_diff(diff(9, 11)));
        assert!(s.snapshot(5).is_none(), "not servable before the snapshot");
        let snap = DepthSnapshot {
            last_update_id: 10,
            bids: vec![Level::new(99, 1)],
            asks: vec![Level::new(102, 1)],
        };
        assert!(s.on_snapshot(&snap));
        let (id, top) = s.snapshot(5).unwrap();
        assert_eq!(id, 11, "the buffered bridging diff is already applied");
        assert_eq!(top.bids[0], Level::new(100, 11));
        assert!(s.on_diff(diff(12, 12)));
        assert_eq!(s.snapshot(1).unwrap().0, 12);
        assert_eq!(s.out_of_sequence(), 0);
    }

    #[test]
    fn depth20_is_throttled_by_event_time() {
        let mut s = MarketState::default();
        s.on_snapshot(&DepthSnapshot {
            last_update_id: 1,
            bids: vec![Level::new(99, 1)],
            asks: vec![Level::new(102, 1)],
        });
        assert!(!s.is_synced(), "a snapshot waits for the diff that bridges it");
        assert_eq!(s.snapshot(5).map(|x| x.0), Some(1), "but is served meanwhile");
        assert!(s.on_diff(diff(2, 2)));
        assert!(s.depth20_due(1_000, 50_000).is_some());
        assert!(s.depth20_due(40_000, 50_000).is_none());
        assert!(s.depth20_due(51_000, 50_000).is_some());
    }
}
