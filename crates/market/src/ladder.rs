//! One side of a book ("ladder"): the storage layout behind [`crate::OrderBook`].
//!
//! Both layouts order levels by a *key* that is `price` on the bid side and `-price` on the ask side, so on
//! either side "better" means "larger key" and the code is branch-free with respect to the side.
//!
//! * [`VecLadder`] — a sorted `Vec` with the best level at the **end**. Binance updates cluster near the
//!   touch, so inserts/removes move only the few elements between the touched level and the top; lookups
//!   are a binary search over contiguous memory. This is the default (measured faster, see
//!   `benches/book_layout.rs` and `docs/market-and-features.md`).
//! * [`BTreeLadder`] — a `BTreeMap<key, qty>`, kept as the comparison layout for the benchmark.

use std::collections::BTreeMap;

use crate::events::{Level, Side};
use crate::scale::{Lots, Ticks};

/// Storage for one side of the book. Prices must be positive; `qty <= 0` removes a level.
pub trait Ladder: Clone {
    /// Iterator over levels, best first.
    type Iter<'a>: Iterator<Item = Level>
    where
        Self: 'a;

    /// An empty ladder for `side`.
    fn new(side: Side) -> Self;
    /// Sets the absolute quantity at `price` (`qty <= 0` removes the level).
    fn set(&mut self, price: Ticks, qty: Lots);
    /// Quantity resting at `price`, if any.
    fn get(&self, price: Ticks) -> Option<Lots>;
    /// Best level (highest bid / lowest ask).
    fn best(&self) -> Option<Level>;
    /// Worst level (lowest bid / highest ask), the one the depth cap evicts first.
    fn worst(&self) -> Option<Level>;
    /// Removes the worst level.
    fn pop_worst(&mut self);
    /// Number of levels.
    fn len(&self) -> usize;
    /// Removes every level, keeping allocated storage.
    fn clear(&mut self);
    /// Levels from the best outwards.
    fn iter_best_first(&self) -> Self::Iter<'_>;

    /// `true` when there are no levels.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

const fn sign(side: Side) -> i64 {
    match side {
        Side::Bid => 1,
        Side::Ask => -1,
    }
}

/// Sorted-`Vec` ladder, best level last (the default layout).
#[derive(Debug, Clone)]
pub struct VecLadder {
    sign: i64,
    /// `(key, qty)` ascending by key; `key = sign * price`.
    levels: Vec<Level>,
}

impl VecLadder {
    fn search(&self, key: i64) -> Result<usize, usize> {
        self.levels.binary_search_by(|l| l.price.cmp(&key))
    }
}

/// Best-first iterator over a [`VecLadder`].
#[derive(Debug, Clone)]
pub struct VecLadderIter<'a> {
    sign: i64,
    inner: std::iter::Rev<std::slice::Iter<'a, Level>>,
}

impl Iterator for VecLadderIter<'_> {
    type Item = Level;

    fn next(&mut self) -> Option<Level> {
        self.inner.next().map(|l| Level::new(l.price * self.sign, l.qty))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl Ladder for VecLadder {
    type Iter<'a> = VecLadderIter<'a>;

    fn new(side: Side) -> Self {
        Self {
            sign: sign(side),
            levels: Vec::with_capacity(1024),
        }
    }

    fn set(&mut self, price: Ticks, qty: Lots) {
        let key = price * self.sign;
        match (self.search(key), qty > 0) {
            (Ok(i), true) => {
                if let Some(l) = self.levels.get_mut(i) {
                    l.qty = qty;
                }
            }
            (Ok(i), false) => {
                self.levels.remove(i);
            }
            (Err(i), true) => self.levels.insert(i, Level::new(key, qty)),
            (Err(_), false) => {}
        }
    }

    fn get(&self, price: Ticks) -> Option<Lots> {
        let i = self.search(price * self.sign).ok()?;
        self.levels.get(i).map(|l| l.qty)
    }

    fn best(&self) -> Option<Level> {
        self.levels.last().map(|l| Level::new(l.price * self.sign, l.qty))
    }

    fn worst(&self) -> Option<Level> {
        self.levels
            .first()
            .map(|l| Level::new(l.price * self.sign, l.qty))
    }

    fn pop_worst(&mut self) {
        if !self.levels.is_empty() {
            self.levels.remove(0);
        }
    }

    fn len(&self) -> usize {
        self.levels.len()
    }

    fn clear(&mut self) {
        self.levels.clear();
    }

    fn iter_best_first(&self) -> VecLadderIter<'_> {
        VecLadderIter {
            sign: self.sign,
            inner: self.levels.iter().rev(),
        }
    }
}

/// `BTreeMap` ladder (comparison layout).
#[derive(Debug, Clone)]
pub struct BTreeLadder {
    sign: i64,
    levels: BTreeMap<i64, Lots>,
}

/// Best-first iterator over a [`BTreeLadder`].
#[derive(Debug, Clone)]
pub struct BTreeLadderIter<'a> {
    sign: i64,
    inner: std::iter::Rev<std::collections::btree_map::Iter<'a, i64, Lots>>,
}

impl Iterator for BTreeLadderIter<'_> {
    type Item = Level;

    fn next(&mut self) -> Option<Level> {
        self.inner.next().map(|(k, q)| Level::new(k * self.sign, *q))
    }
}

impl Ladder for BTreeLadder {
    type Iter<'a> = BTreeLadderIter<'a>;

    fn new(side: Side) -> Self {
        Self {
            sign: sign(side),
            levels: BTreeMap::new(),
        }
    }

    fn set(&mut self, price: Ticks, qty: Lots) {
        let key = price * self.sign;
        if qty > 0 {
            self.levels.insert(key, qty);
        } else {
            self.levels.remove(&key);
        }
    }

    fn get(&self, price: Ticks) -> Option<Lots> {
        self.levels.get(&(price * self.sign)).copied()
    }

    fn best(&self) -> Option<Level> {
        self.levels
            .last_key_value()
            .map(|(k, q)| Level::new(k * self.sign, *q))
    }

    fn worst(&self) -> Option<Level> {
        self.levels
            .first_key_value()
            .map(|(k, q)| Level::new(k * self.sign, *q))
    }

    fn pop_worst(&mut self) {
        self.levels.pop_first();
    }

    fn len(&self) -> usize {
        self.levels.len()
    }

    fn clear(&mut self) {
        self.levels.clear();
    }

    fn iter_best_first(&self) -> BTreeLadderIter<'_> {
        BTreeLadderIter {
            sign: self.sign,
            inner: self.levels.iter().rev(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise<L: Ladder>(side: Side) -> Vec<Level> {
        let mut l = L::new(side);
        for (p, q) in [(100, 5), (102, 1), (101, 3), (99, 2), (102, 0), (103, 0), (99, 7)] {
            l.set(p, q);
        }
        l.iter_best_first().collect()
    }

    #[test]
    fn bid_ladder_orders_highest_price_first_and_removes_zero_qty() {
        let expected = vec![Level::new(101, 3), Level::new(100, 5), Level::new(99, 7)];
        assert_eq!(exercise::<VecLadder>(Side::Bid), expected);
        assert_eq!(exercise::<BTreeLadder>(Side::Bid), expected);
    }

    #[test]
    fn ask_ladder_orders_lowest_price_first() {
        let expected = vec![Level::new(99, 7), Level::new(100, 5), Level::new(101, 3)];
        assert_eq!(exercise::<VecLadder>(Side::Ask), expected);
        assert_eq!(exercise::<BTreeLadder>(Side::Ask), expected);
    }

    #[test]
    fn get_and_best_report_resting_quantity() {
        let mut l = VecLadder::new(Side::Ask);
        l.set(10, 4);
        l.set(9, 1);
        assert_eq!(l.get(10), Some(4));
        assert_eq!(l.get(11), None);
        assert_eq!(l.best(), Some(Level::new(9, 1)));
        l.clear();
        assert!(l.is_empty());
        assert_eq!(l.best(), None);
    }
}
