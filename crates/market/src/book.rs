//! The order book: two ladders plus the update id they reflect. No sequencing logic lives here
//! (see [`crate::sequence`] and [`crate::sync`]).

use crate::events::{DepthDiff, DepthSnapshot, Level, Side};
use crate::ladder::{Ladder, VecLadder};
use crate::scale::{Lots, Ticks};

/// Levels kept per side by default: twice Binance's deepest REST snapshot (5000 levels). Diffs
/// keep adding far-from-touch levels that no snapshot refreshes; without a cap a long-running
/// book grows without bound (and a hostile feed could grow it at will).
pub const DEFAULT_MAX_LEVELS_PER_SIDE: usize = 10_000;

/// Price-level order book in exact ticks / lots. `L` selects the storage layout; the default
/// [`VecLadder`] is the measured-faster one.
///
/// Each side holds at most `max_levels` levels: a new level worse than the worst of a full side
/// is not stored, a better one evicts the worst; both count in [`OrderBook::levels_dropped`].
/// The levels nearest the touch (what features and the Redis writer read) stay exact.
#[derive(Debug, Clone)]
pub struct OrderBook<L: Ladder = VecLadder> {
    bids: L,
    asks: L,
    last_update_id: u64,
    max_levels: usize,
    levels_dropped: u64,
}

impl<L: Ladder> Default for OrderBook<L> {
    fn default() -> Self {
        Self::new()
    }
}

impl<L: Ladder> OrderBook<L> {
    /// An empty book with update id 0 and the default depth cap.
    pub fn new() -> Self {
        Self::with_max_levels(DEFAULT_MAX_LEVELS_PER_SIDE)
    }

    /// An empty book keeping at most `max_levels` (at least 1) levels per side.
    pub fn with_max_levels(max_levels: usize) -> Self {
        Self {
            bids: L::new(Side::Bid),
            asks: L::new(Side::Ask),
            last_update_id: 0,
            max_levels: max_levels.max(1),
            levels_dropped: 0,
        }
    }

    /// Levels not stored or evicted because a side was at its cap (cumulative).
    pub fn levels_dropped(&self) -> u64 {
        self.levels_dropped
    }

    /// A book holding exactly `snapshot`.
    pub fn from_snapshot(snapshot: &DepthSnapshot) -> Self {
        let mut book = Self::new();
        book.load_snapshot(snapshot);
        book
    }

    /// Replaces the whole content with `snapshot` (storage is reused).
    pub fn load_snapshot(&mut self, snapshot: &DepthSnapshot) {
        self.bids.clear();
        self.asks.clear();
        for l in &snapshot.bids {
            self.set_level(Side::Bid, l.price, l.qty);
        }
        for l in &snapshot.asks {
            self.set_level(Side::Ask, l.price, l.qty);
        }
        self.last_update_id = snapshot.last_update_id;
    }

    /// Applies the levels of `diff` unconditionally and sets the update id to its `u`.
    /// Sequencing must be checked by the caller ([`crate::BookSync`] does).
    pub fn apply_diff(&mut self, diff: &DepthDiff) {
        for l in &diff.bids {
            self.set_level(Side::Bid, l.price, l.qty);
        }
        for l in &diff.asks {
            self.set_level(Side::Ask, l.price, l.qty);
        }
        self.last_update_id = diff.last_update_id;
    }

    /// Sets the absolute quantity at one level (`qty <= 0` removes it). Non-positive prices are ignored.
    pub fn set_level(&mut self, side: Side, price: Ticks, qty: Lots) {
        if price <= 0 {
            return;
        }
        let max = self.max_levels;
        let ladder = match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        };
        if qty > 0 && ladder.len() >= max && ladder.get(price).is_none() {
            let better = |a: Ticks, b: Ticks| match side {
                Side::Bid => a > b,
                Side::Ask => a < b,
            };
            self.levels_dropped = self.levels_dropped.saturating_add(1);
            match ladder.worst() {
                Some(w) if !better(price, w.price) => return,
                _ => ladder.pop_worst(),
            }
        }
        ladder.set(price, qty);
    }

    /// Quantity resting at `price` on `side`.
    pub fn qty_at(&self, side: Side, price: Ticks) -> Option<Lots> {
        self.ladder(side).get(price)
    }

    /// Highest bid.
    pub fn best_bid(&self) -> Option<Level> {
        self.bids.best()
    }

    /// Lowest ask.
    pub fn best_ask(&self) -> Option<Level> {
        self.asks.best()
    }

    /// `true` when the best bid is at or above the best ask (an impossible state for a correct book).
    pub fn is_crossed(&self) -> bool {
        matches!((self.best_bid(), self.best_ask()), (Some(b), Some(a)) if b.price >= a.price)
    }

    /// Update id (`lastUpdateId` of the snapshot or `u` of the last applied diff).
    pub fn last_update_id(&self) -> u64 {
        self.last_update_id
    }

    /// One side of the book.
    pub fn ladder(&self, side: Side) -> &L {
        match side {
            Side::Bid => &self.bids,
            Side::Ask => &self.asks,
        }
    }

    /// Fills `out` with up to `n` levels per side, best first (reuses `out`'s storage).
    pub fn top_n(&self, n: usize, out: &mut TopOfBook) {
        out.bids.clear();
        out.asks.clear();
        out.bids.extend(self.bids.iter_best_first().take(n));
        out.asks.extend(self.asks.iter_best_first().take(n));
    }
}

/// Top-N levels per side, best first: the view the feature engine and the Redis writer consume.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopOfBook {
    /// Bids, highest price first.
    pub bids: Vec<Level>,
    /// Asks, lowest price first.
    pub asks: Vec<Level>,
}

impl TopOfBook {
    /// Empty view with room for `n` levels per side.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            bids: Vec::with_capacity(n),
            asks: Vec::with_capacity(n),
        }
    }

    /// Best bid of the view.
    pub fn best_bid(&self) -> Option<Level> {
        self.bids.first().copied()
    }

    /// Best ask of the view.
    pub fn best_ask(&self) -> Option<Level> {
        self.asks.first().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ladder::BTreeLadder;

    fn snapshot() -> DepthSnapshot {
        DepthSnapshot {
            last_update_id: 10,
            bids: vec![Level::new(100, 1), Level::new(99, 2), Level::new(98, 0)],
            asks: vec![Level::new(102, 3), Level::new(101, 4)],
        }
    }

    #[test]
    fn snapshot_load_sets_best_levels_and_update_id() {
        let book: OrderBook = OrderBook::from_snapshot(&snapshot());
        assert_eq!(book.best_bid(), Some(Level::new(100, 1)));
        assert_eq!(book.best_ask(), Some(Level::new(101, 4)));
        assert_eq!(book.last_update_id(), 10);
        assert_eq!(
            book.ladder(Side::Bid).len(),
            2,
            "zero-quantity snapshot levels are not stored"
        );
        assert!(!book.is_crossed());
    }

    #[test]
    fn diff_overwrites_removes_and_inserts_levels() {
        let mut book: OrderBook<BTreeLadder> = OrderBook::from_snapshot(&snapshot());
        let diff = DepthDiff {
            first_update_id: 11,
            last_update_id: 12,
            event_time_us: 0,
            bids: vec![Level::new(100, 0), Level::new(99, 5)],
            asks: vec![Level::new(100, 1)],
        };
        book.apply_diff(&diff);
        assert_eq!(book.best_bid(), Some(Level::new(99, 5)));
        assert_eq!(book.best_ask(), Some(Level::new(100, 1)));
        assert_eq!(book.qty_at(Side::Bid, 100), None);
        assert_eq!(book.last_update_id(), 12);
    }

    #[test]
    fn crossed_check_flags_bid_at_or_above_ask() {
        let mut book: OrderBook = OrderBook::from_snapshot(&snapshot());
        book.set_level(Side::Bid, 101, 1);
        assert!(book.is_crossed(), "a locked book (bid == ask) counts as crossed");
    }

    #[test]
    fn each_side_is_capped_worst_levels_dropped_and_counted() {
        fn check<L: Ladder>() {
            let mut book: OrderBook<L> = OrderBook::with_max_levels(3);
            let snap = DepthSnapshot {
                last_update_id: 1,
                bids: (95..=99).map(|p| Level::new(p, 1)).collect(),
                asks: (101..=105).map(|p| Level::new(p, 1)).collect(),
            };
            book.load_snapshot(&snap);
            let prices = |b: &OrderBook<L>, side| {
                b.ladder(side)
                    .iter_best_first()
                    .map(|l| l.price)
                    .collect::<Vec<_>>()
            };
            assert_eq!(prices(&book, Side::Bid), [99, 98, 97]);
            assert_eq!(prices(&book, Side::Ask), [101, 102, 103]);
            assert_eq!(book.levels_dropped(), 4);
            book.set_level(Side::Bid, 100, 2); // better than all: evicts 97
            book.set_level(Side::Ask, 110, 2); // worse than the worst ask: not stored
            book.set_level(Side::Bid, 98, 5); // existing level: an update, never dropped
            book.set_level(Side::Bid, 99, 0); // a removal frees room
            book.set_level(Side::Bid, 90, 1); // fits again
            assert_eq!(prices(&book, Side::Bid), [100, 98, 90]);
            assert_eq!(prices(&book, Side::Ask), [101, 102, 103]);
            assert_eq!(book.levels_dropped(), 6);
            assert_eq!(book.best_bid(), Some(Level::new(100, 2)));
        }
        check::<VecLadder>();
        check::<BTreeLadder>();
    }

    #[test]
    fn top_n_lists_best_first_and_truncates() {
        let book: OrderBook = OrderBook::from_snapshot(&snapshot());
        let mut top = TopOfBook::with_capacity(1);
        book.top_n(1, &mut top);
        assert_eq!(top.bids, vec![Level::new(100, 1)]);
        assert_eq!(top.asks, vec![Level::new(101, 4)]);
        book.top_n(5, &mut top);
        assert_eq!(top.asks, vec![Level::new(101, 4), Level::new(102, 3)]);
    }
}
