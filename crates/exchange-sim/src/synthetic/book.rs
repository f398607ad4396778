//! The simulation's order book: individual resting orders in FIFO queues per price level, with
//! uniform random access to live orders (for cancellations). Prices in ticks, sizes in lots.

use std::collections::{BTreeMap, VecDeque};

use market::Side;

/// One resting order.
#[derive(Debug, Clone, Copy)]
struct Order {
    side: Side,
    price: i64,
    qty: i64,
    /// Index in `live`.
    live_pos: usize,
}

/// One price level: FIFO of order ids and their total.
#[derive(Debug, Clone, Default)]
struct Level {
    queue: VecDeque<u32>,
    total: i64,
}

/// A fill against one resting order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    pub price: i64,
    pub qty: i64,
}

/// Both sides of the simulated book.
#[derive(Debug, Clone, Default)]
pub struct SimBook {
    bids: BTreeMap<i64, Level>,
    asks: BTreeMap<i64, Level>,
    orders: Vec<Option<Order>>,
    free: Vec<u32>,
    live: Vec<u32>,
}

impl SimBook {
    fn side_mut(&mut self, side: Side) -> &mut BTreeMap<i64, Level> {
        match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        }
    }

    fn side(&self, side: Side) -> &BTreeMap<i64, Level> {
        match side {
            Side::Bid => &self.bids,
            Side::Ask => &self.asks,
        }
    }

    /// Best (price, total) of a side.
    pub fn best(&self, side: Side) -> Option<(i64, i64)> {
        let mut it = self.side(side).iter();
        let l = match side {
            Side::Bid => it.next_back(),
            Side::Ask => it.next(),
        };
        l.map(|(p, l)| (*p, l.total))
    }

    /// Number of resting orders.
    pub fn order_count(&self) -> usize {
        self.live.len()
    }

    /// Number of orders on one side.
    pub fn level_count(&self, side: Side) -> usize {
        self.side(side).len()
    }

    /// Total resting at `price` on `side` (0 when empty).
    pub fn total_at(&self, side: Side, price: i64) -> i64 {
        self.side(side).get(&price).map_or(0, |l| l.total)
    }

    /// Up to `n` levels of a side, best first.
    pub fn levels(&self, side: Side, n: usize) -> Vec<(i64, i64)> {
        let map = self.side(side);
        let it = map.iter().map(|(p, l)| (*p, l.total));
        match side {
            Side::Bid => it.rev().take(n).collect(),
            Side::Ask => it.take(n).collect(),
        }
    }

    /// Adds a resting order (the caller guarantees it does not cross).
    pub fn add(&mut self, side: Side, price: i64, qty: i64) {
        let live_pos = self.live.len();
        let order = Order {
            side,
            price,
            qty,
            live_pos,
        };
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(slot) = self.orders.get_mut(id as usize) {
                    *slot = Some(order);
                }
                id
            }
            None => {
                self.orders.push(Some(order));
                u32::try_from(self.orders.len() - 1).unwrap_or(u32::MAX)
            }
        };
        self.live.push(id);
        let level = self.side_mut(side).entry(price).or_default();
        level.queue.push_back(id);
        level.total += qty;
    }

    /// Cancels the `k`-th live order (`k < order_count()`); returns its (side, price).
    pub fn cancel_nth(&mut self, k: usize) -> Option<(Side, i64)> {
        let id = *self.live.get(k)?;
        let order = self.orders.get(id as usize).copied().flatten()?;
        self.unlink(id, order);
        let map = self.side_mut(order.side);
        if let Some(level) = map.get_mut(&order.price) {
            level.queue.retain(|o| *o != id);
            level.total -= order.qty;
            if level.queue.is_empty() {
                map.remove(&order.price);
            }
        }
        Some((order.side, order.price))
    }

    fn unlink(&mut self, id: u32, order: Order) {
        let pos = order.live_pos;
        self.live.swap_remove(pos);
        if let Some(&moved) = self.live.get(pos)
            && let Some(Some(o)) = self.orders.get_mut(moved as usize)
        {
            o.live_pos = pos;
        }
        if let Some(slot) = self.orders.get_mut(id as usize) {
            *slot = None;
        }
        self.free.push(id);
    }

    /// A market order of `qty` hitting `side` (the resting side), best level first, FIFO within a
    /// level. Returns the fills (one per maker order touched).
    pub fn execute(&mut self, side: Side, mut qty: i64, fills: &mut Vec<Fill>) {
        fills.clear();
        while qty > 0 {
            let Some((price, _)) = self.best(side) else { return };
            let Some(&id) = self.side(side).get(&price).and_then(|l| l.queue.front()) else {
                return;
            };
            let Some(order) = self.orders.get(id as usize).copied().flatten() else {
                return;
            };
            let take = qty.min(order.qty);
            qty -= take;
            fills.push(Fill { price, qty: take });
            let done = take == order.qty;
            if done {
                self.unlink(id, order);
            } else if let Some(Some(o)) = self.orders.get_mut(id as usize) {
                o.qty -= take;
            }
            let map = self.side_mut(side);
            if let Some(level) = map.get_mut(&price) {
                level.total -= take;
                if done {
                    level.queue.pop_front();
                }
                if level.queue.is_empty() {
                    map.remove(&price);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn market_orders_fill_fifo_from_the_best_level_outwards() {
        let mut b = SimBook::default();
        b.add(Side::Ask, 101, 5);
        b.add(Side::Ask, 101, 7);
        b.add(Side::Ask, 103, 10);
        b.add(Side::Bid, 100, 1);
        let mut fills = Vec::new();
        b.execute(Side::Ask, 15, &mut fills);
        assert_eq!(
            fills,
            [
                Fill { price: 101, qty: 5 },
                Fill { price: 101, qty: 7 },
                Fill { price: 103, qty: 3 }
            ]
        );
        assert_eq!(b.best(Side::Ask), Some((103, 7)));
        assert_eq!(b.order_count(), 2);
    }

    #[test]
    fn cancelling_keeps_levels_and_live_index_consistent() {
        let mut b = SimBook::default();
        for p in [100, 100, 99, 98] {
            b.add(Side::Bid, p, 2);
        }
        assert_eq!(b.cancel_nth(0), Some((Side::Bid, 100)));
        assert_eq!(b.best(Side::Bid), Some((100, 2)));
        while b.order_count() > 0 {
            assert!(b.cancel_nth(b.order_count() - 1).is_some());
        }
        assert_eq!(b.best(Side::Bid), None);
        assert_eq!(b.cancel_nth(0), None);
    }
}
