//! A simple seeded synthetic BTCUSDT spot market, emitted as the same events a recording yields
//! (REST snapshot first, then `@depth@100ms` diffs, `@bookTicker` and `@trade`), so it goes through the
//! exact replay path of the real data (`BookSync` → top-10 → `FeatureEngine`).
//!
//! Model (per 10 ms step):
//! * a hidden **order-flow pressure** `s` (AR(1), time constant 20 s, stationary N(0,1)) and a slow
//!   **volatility regime** `v` (log-AR(1), time constant 5 min);
//! * the mid moves in **jumps** (about 3 per second × `v`, size log-normal around 1.5 USD), up with
//!   probability `0.5 + 0.1·tanh(s)` — the only source of predictability;
//! * `s` also leaks, noisily, into what the features see: best-level sizes (× e^{±0.6·tanh s}), deeper
//!   sizes (× e^{±0.3·tanh s}) and the aggressor side of trades (buy with probability 0.5 + 0.2·tanh s);
//! * spread is 1 tick 85 % of the time, trades arrive at about 30 per second × `v`.
//!
//! This is not the exchange simulator of `crates/exchange-sim` (which was a skeleton when this was
//! written): it is a small generator for training data, reproducible bit for bit from its seed.

use std::collections::{BTreeMap, VecDeque};

use market::recording::RecordedEvent;
use market::{BestBidAsk, DepthDiff, DepthSnapshot, Level, Lots, Ticks, Trade};

use crate::rng::SplitMix64;

const STEP_US: u64 = 10_000;
const DIFF_EVERY_US: u64 = 100_000;
const LOTS_PER_BTC: f64 = 1e8;
const MIN_LOTS: Lots = 1_000;
const LEVELS: usize = 25;

/// Parameters of a synthetic run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntheticConfig {
    /// Seed of the whole run.
    pub seed: u64,
    /// Length of the run in hours of exchange time.
    pub hours: f64,
    /// Exchange time of the first event (µs since the epoch).
    pub start_us: u64,
    /// Initial best bid (ticks of 0.01).
    pub start_bid: Ticks,
}

impl SyntheticConfig {
    /// A run of `hours` starting 2024-08-10 00:00:00 UTC at 61 600.00.
    pub fn new(seed: u64, hours: f64) -> Self {
        Self {
            seed,
            hours,
            start_us: 1_723_248_000_000_000,
            start_bid: 6_160_000,
        }
    }
}

/// Iterator over the events of a synthetic run.
#[derive(Debug)]
pub struct SyntheticMarket {
    rng: SplitMix64,
    t_us: u64,
    end_us: u64,
    next_diff_us: u64,
    pressure: f64,
    log_vol: f64,
    bids: BTreeMap<Ticks, Lots>,
    asks: BTreeMap<Ticks, Lots>,
    dirty_bids: BTreeMap<Ticks, Lots>,
    dirty_asks: BTreeMap<Ticks, Lots>,
    last_update_id: u64,
    trade_id: u64,
    last_bbo: Option<(Level, Level)>,
    queue: VecDeque<RecordedEvent>,
}

impl SyntheticMarket {
    /// A run that starts with a REST snapshot of a freshly generated book.
    pub fn new(cfg: SyntheticConfig) -> Self {
        let hours_us = (cfg.hours.max(0.0) * 3.6e9) as u64;
        let mut m = Self {
            rng: SplitMix64::new(cfg.seed),
            t_us: cfg.start_us,
            end_us: cfg.start_us + hours_us,
            next_diff_us: cfg.start_us + DIFF_EVERY_US,
            pressure: 0.0,
            log_vol: 0.0,
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
            dirty_bids: BTreeMap::new(),
            dirty_asks: BTreeMap::new(),
            last_update_id: 1_000_000,
            trade_id: 1,
            last_bbo: None,
            queue: VecDeque::new(),
        };
        let bid = cfg.start_bid;
        let (qb, qa) = (m.best_qty(1.0), m.best_qty(-1.0));
        m.set_bid(bid, qb);
        m.set_ask(bid + 1, qa);
        m.refill();
        m.dirty_bids.clear();
        m.dirty_asks.clear();
        let level = |(p, q): (&Ticks, &Lots)| Level::new(*p, *q);
        m.queue.push_back(RecordedEvent::Snapshot(DepthSnapshot {
            last_update_id: m.last_update_id,
            bids: m.bids.iter().map(level).collect(),
            asks: m.asks.iter().map(level).collect(),
        }));
        m
    }

    fn tanh_s(&self) -> f64 {
        self.pressure.tanh()
    }

    fn vol(&self) -> f64 {
        self.log_vol.exp()
    }

    fn lots(btc: f64) -> Lots {
        (((btc * LOTS_PER_BTC) / MIN_LOTS as f64).round() as Lots * MIN_LOTS).max(MIN_LOTS)
    }

    /// Best-level size; `side` is +1 for bids, −1 for asks.
    fn best_qty(&mut self, side: f64) -> Lots {
        let ln = (0.8f64).ln() + 1.0 * self.rng.normal() + side * 0.6 * self.tanh_s();
        Self::lots(ln.exp())
    }

    fn deep_qty(&mut self, side: f64) -> Lots {
        let ln = (0.5f64).ln() + 1.2 * self.rng.normal() + side * 0.3 * self.tanh_s();
        Self::lots(ln.exp().min(50.0))
    }

    fn set_bid(&mut self, price: Ticks, qty: Lots) {
        if qty > 0 {
            self.bids.insert(price, qty);
        } else {
            self.bids.remove(&price);
        }
        self.dirty_bids.insert(price, qty);
    }

    fn set_ask(&mut self, price: Ticks, qty: Lots) {
        if qty > 0 {
            self.asks.insert(price, qty);
        } else {
            self.asks.remove(&price);
        }
        self.dirty_asks.insert(price, qty);
    }

    fn best_bid(&self) -> Option<(Ticks, Lots)> {
        self.bids.iter().next_back().map(|(p, q)| (*p, *q))
    }

    fn best_ask(&self) -> Option<(Ticks, Lots)> {
        self.asks.iter().next().map(|(p, q)| (*p, *q))
    }

    /// Keeps `LEVELS` levels per side: adds far levels at random gaps, drops the farthest extras.
    fn refill(&mut self) {
        while self.bids.len() < LEVELS {
            let far = self.bids.keys().next().copied().unwrap_or(1_000_000);
            let gap = self.rng.range_i64(1, 40);
            let q = self.deep_qty(1.0);
            self.set_bid((far - gap).max(1), q);
        }
        while self.asks.len() < LEVELS {
            let far = self.asks.keys().next_back().copied().unwrap_or(1_000_000);
            let gap = self.rng.range_i64(1, 40);
            let q = self.deep_qty(-1.0);
            self.set_ask(far + gap, q);
        }
        while self.bids.len() > LEVELS + 10 {
            if let Some(p) = self.bids.keys().next().copied() {
                self.set_bid(p, 0);
            }
        }
        while self.asks.len() > LEVELS + 10 {
            if let Some(p) = self.asks.keys().next_back().copied() {
                self.set_ask(p, 0);
            }
        }
    }

    /// Moves the touch by `jump` ticks (positive = up) and re-quotes the new best levels.
    fn jump(&mut self, jump: Ticks) {
        let Some((bid, _)) = self.best_bid() else {
            return;
        };
        let spread = if self.rng.bernoulli(0.85) {
            1
        } else {
            self.rng.range_i64(2, 5)
        };
        let new_bid = (bid + jump).max(1000);
        let new_ask = new_bid + spread;
        // The jump consumes every ask below the new ask and every bid at or above the new bid.
        let stale_asks: Vec<Ticks> = self.asks.range(..new_ask).map(|(p, _)| *p).collect();
        let stale_bids: Vec<Ticks> = self.bids.range(new_bid..).map(|(p, _)| *p).collect();
        for p in stale_asks {
            self.set_ask(p, 0);
        }
        for p in stale_bids {
            self.set_bid(p, 0);
        }
        let (qb, qa) = (self.best_qty(1.0), self.best_qty(-1.0));
        self.set_bid(new_bid, qb);
        self.set_ask(new_ask, qa);
        self.refill();
    }

    fn step(&mut self) {
        self.t_us += STEP_US;
        let dt = STEP_US as f64 / 1e6;
        let phi_s = (-dt / 20.0).exp();
        self.pressure = phi_s * self.pressure + (1.0 - phi_s * phi_s).sqrt() * self.rng.normal();
        let phi_v = (-dt / 300.0).exp();
        self.log_vol = phi_v * self.log_vol + 0.4 * (1.0 - phi_v * phi_v).sqrt() * self.rng.normal();
        let (vol, ts) = (self.vol(), self.tanh_s());

        for _ in 0..self.rng.poisson(30.0 * vol * dt) {
            self.trade(ts);
        }
        if self.rng.bernoulli(3.0 * vol * dt) {
            let up = self.rng.bernoulli(0.5 + 0.1 * ts);
            let size = (150.0f64.ln() + 0.8 * self.rng.normal()).exp().round().max(1.0) as Ticks;
            self.jump(if up { size } else { -size });
        }
        for side in [1.0, -1.0] {
            if self.rng.bernoulli(0.45) {
                self.queue_flow(side, ts);
            }
            if self.rng.bernoulli(0.3) {
                self.requote_deep(side);
            }
        }
        self.emit_bbo();
        if self.t_us >= self.next_diff_us {
            self.next_diff_us += DIFF_EVERY_US;
            self.emit_diff();
        }
    }

    /// Adds to or cancels from a best-level queue. Adds are more likely on the side the pressure favours,
    /// so order-flow imbalance (OFI) carries the hidden pressure; large queues drift back down.
    fn queue_flow(&mut self, side: f64, ts: f64) {
        let touch = if side > 0.0 {
            self.best_bid()
        } else {
            self.best_ask()
        };
        let Some((price, qty)) = touch else { return };
        let crowded = (qty as f64 / LOTS_PER_BTC / 3.0).min(1.0) * 0.2;
        let add = self.rng.bernoulli(0.5 + 0.25 * side * ts - crowded);
        let delta = Self::lots((0.3f64.ln() + self.rng.normal()).exp().min(10.0));
        let new = if add {
            qty + delta
        } else {
            (qty - delta).max(MIN_LOTS)
        };
        if side > 0.0 {
            self.set_bid(price, new);
        } else {
            self.set_ask(price, new);
        }
    }

    fn requote_deep(&mut self, side: f64) {
        let k = self.rng.range_i64(1, LEVELS as i64 - 1) as usize;
        let q = self.deep_qty(side);
        if side > 0.0 {
            if let Some(p) = self.bids.keys().rev().nth(k).copied() {
                self.set_bid(p, q);
            }
        } else if let Some(p) = self.asks.keys().nth(k).copied() {
            self.set_ask(p, q);
        }
    }

    fn trade(&mut self, ts: f64) {
        let buy = self.rng.bernoulli(0.5 + 0.2 * ts);
        let qty = Self::lots((0.01f64.ln() + 1.5 * self.rng.normal()).exp().min(5.0));
        let touch = if buy { self.best_ask() } else { self.best_bid() };
        let Some((price, resting)) = touch else { return };
        let left = (resting - qty).max(MIN_LOTS);
        if buy {
            self.set_ask(price, left);
        } else {
            self.set_bid(price, left);
        }
        self.trade_id += 1;
        self.queue.push_back(RecordedEvent::Trade(Trade {
            event_time_us: self.t_us,
            trade_id: self.trade_id,
            price,
            qty,
            is_buyer_maker: !buy,
        }));
    }

    fn emit_bbo(&mut self) {
        let (Some((bp, bq)), Some((ap, aq))) = (self.best_bid(), self.best_ask()) else {
            return;
        };
        let bbo = (Level::new(bp, bq), Level::new(ap, aq));
        if self.last_bbo == Some(bbo) {
            return;
        }
        self.last_bbo = Some(bbo);
        self.queue.push_back(RecordedEvent::BookTicker(BestBidAsk {
            event_time_us: self.t_us,
            update_id: self.last_update_id,
            bid: bbo.0,
            ask: bbo.1,
        }));
    }

    fn emit_diff(&mut self) {
        let n = (self.dirty_bids.len() + self.dirty_asks.len()) as u64;
        if n == 0 {
            return;
        }
        let level = |(p, q): (Ticks, Lots)| Level::new(p, q);
        let diff = DepthDiff {
            first_update_id: self.last_update_id + 1,
            last_update_id: self.last_update_id + n,
            event_time_us: self.t_us,
            bids: std::mem::take(&mut self.dirty_bids)
                .into_iter()
                .map(level)
                .collect(),
            asks: std::mem::take(&mut self.dirty_asks)
                .into_iter()
                .map(level)
                .collect(),
        };
        self.last_update_id += n;
        self.queue.push_back(RecordedEvent::Depth(diff));
    }
}

impl Iterator for SyntheticMarket {
    type Item = RecordedEvent;

    fn next(&mut self) -> Option<RecordedEvent> {
        while self.queue.is_empty() {
            if self.t_us >= self.end_us {
                return None;
            }
            self.step();
        }
        self.queue.pop_front()
    }
}

#[cfg(test)]
mod tests;
