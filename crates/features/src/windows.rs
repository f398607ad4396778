//! Exact sliding time windows over flow events (trades, order-flow contributions), keyed on exchange
//! event time. Sums are integers, so the incremental result equals a batch recomputation exactly.
//! Each event enters and leaves each window once: amortised O(1) per event.

use std::collections::VecDeque;

use crate::spec::FLOW_WINDOWS_US;

const K: usize = FLOW_WINDOWS_US.len();

/// One flow event; unused fields are zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowEvent {
    /// Event time (µs).
    pub t_us: u64,
    /// Aggressive buy quantity (lots).
    pub buy: i64,
    /// Aggressive sell quantity (lots).
    pub sell: i64,
    /// Number of trades.
    pub trades: i64,
    /// Σ price·qty (ticks·lots).
    pub notional: i128,
    /// Order-flow imbalance contribution (lots).
    pub ofi: i64,
    /// |ofi| (lots).
    pub ofi_abs: i64,
}

/// Window totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowSums {
    /// Aggressive buy quantity (lots).
    pub buy: i64,
    /// Aggressive sell quantity (lots).
    pub sell: i64,
    /// Trades.
    pub trades: i64,
    /// Σ price·qty.
    pub notional: i128,
    /// Σ ofi.
    pub ofi: i64,
    /// Σ |ofi|.
    pub ofi_abs: i64,
}

impl FlowSums {
    /// Adds an event.
    pub fn add(&mut self, e: &FlowEvent) {
        self.buy += e.buy;
        self.sell += e.sell;
        self.trades += e.trades;
        self.notional += e.notional;
        self.ofi += e.ofi;
        self.ofi_abs += e.ofi_abs;
    }

    fn sub(&mut self, e: &FlowEvent) {
        self.buy -= e.buy;
        self.sell -= e.sell;
        self.trades -= e.trades;
        self.notional -= e.notional;
        self.ofi -= e.ofi;
        self.ofi_abs -= e.ofi_abs;
    }
}

/// Nested windows `(now - W, now]` for every `W` in [`FLOW_WINDOWS_US`] (ascending).
#[derive(Debug, Clone, Default)]
pub struct FlowWindows {
    events: VecDeque<FlowEvent>,
    /// Absolute index of `events[0]`.
    base: u64,
    /// Absolute index of the first event inside each window.
    heads: [u64; K],
    sums: [FlowSums; K],
}

impl FlowWindows {
    /// Adds an event at the current time (call [`Self::expire`] with its time first).
    pub fn push(&mut self, e: FlowEvent) {
        for s in &mut self.sums {
            s.add(&e);
        }
        self.events.push_back(e);
    }

    /// Drops events that left each window at time `now`.
    pub fn expire(&mut self, now: u64) {
        let end = self.base + self.events.len() as u64;
        for (w, width) in FLOW_WINDOWS_US.iter().enumerate() {
            let cutoff = now.saturating_sub(*width);
            while self.heads[w] < end {
                let Some(e) = self.events.get((self.heads[w] - self.base) as usize) else {
                    break;
                };
                if e.t_us > cutoff || now < *width {
                    break;
                }
                self.sums[w].sub(e);
                self.heads[w] += 1;
            }
        }
        // The widest window has the oldest head; everything before it is no longer needed.
        let oldest = self.heads[K - 1];
        while self.base < oldest && self.events.pop_front().is_some() {
            self.base += 1;
        }
    }

    /// Totals of window `w` (index into [`FLOW_WINDOWS_US`]).
    pub fn sums(&self, w: usize) -> FlowSums {
        self.sums.get(w).copied().unwrap_or_default()
    }

    /// Events currently retained (memory bound check).
    pub fn retained(&self) -> usize {
        self.events.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(t_us: u64, buy: i64) -> FlowEvent {
        FlowEvent {
            t_us,
            buy,
            trades: 1,
            ..Default::default()
        }
    }

    #[test]
    fn events_leave_each_window_exactly_when_older_than_its_width() {
        let mut w = FlowWindows::default();
        for (t, q) in [(1_000_000, 1), (2_000_000, 2), (5_500_000, 4)] {
            w.expire(t);
            w.push(trade(t, q));
        }
        w.expire(6_000_000);
        assert_eq!(
            w.sums(0).buy,
            4,
            "1 s window (5.0 s, 6.0 s] holds only the last trade"
        );
        assert_eq!(
            w.sums(1).buy,
            6,
            "5 s window (1.0 s, 6.0 s] excludes the trade at exactly 1.0 s"
        );
        assert_eq!(w.sums(3).trades, 3);
        w.expire(40_000_000);
        assert_eq!(w.sums(3), FlowSums::default());
        assert_eq!(w.retained(), 0, "expired events are released");
    }
}
