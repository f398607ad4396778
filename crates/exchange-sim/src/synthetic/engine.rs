//! The pure synthetic market: a seeded event-driven limit-order-book simulation on a simulated
//! clock (no I/O, no wall time).
//!
//! Limit orders arrive at a constant rate per side, join or improve the touch or rest away from it;
//! every resting order is cancelled at a constant rate; market orders arrive as a bivariate Hawkes
//! process (self-exciting per side, simulated by Ogata thinning) and sweep the book FIFO. Prices
//! therefore move only when the book says so: the thinner side of the touch is depleted first
//! (order-book imbalance predicts the next move) and clustered aggressive flow keeps pushing
//! (trade-flow imbalance persists). The flow is queue-reactive (`imbalance_reactivity`): market orders
//! lean towards the thinner queue of the touch and, inside a wide spread, the heavier side improves first.
//!
//! Output mirrors Binance: one update id per book-changing event, depth diffs batched every 20 ms
//! with contiguous `[U, u]`, a best bid/ask event whenever the touch changes, one trades event per
//! market order (one trade per maker order filled).

use std::collections::{BTreeSet, VecDeque};

use market::{BestBidAsk, DepthDiff, DepthSnapshot, Level, Side, Trade};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::book::{Fill, SimBook};
use super::params::SyntheticParams;
use super::sampling::{chance, exponential, log_normal, uniform};

const LOTS_PER_BTC: f64 = 1e8;
const FIRST_UPDATE_ID: u64 = 1_000_000_000;
const FIRST_TRADE_ID: u64 = 100_000_000;

/// One emitted market event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimEvent {
    /// The fills of one market order (all at the same transact time).
    Trades {
        transact_time_us: u64,
        fills: Vec<Trade>,
    },
    /// The touch changed.
    BestBidAsk(BestBidAsk),
    /// All level changes of one 20 ms window.
    DepthDiff(DepthDiff),
}

impl SimEvent {
    /// Exchange event time (µs).
    pub fn time_us(&self) -> u64 {
        match self {
            Self::Trades { transact_time_us, .. } => *transact_time_us,
            Self::BestBidAsk(b) => b.event_time_us,
            Self::DepthDiff(d) => d.event_time_us,
        }
    }
}

/// (price ticks, quantity lots) of one level.
pub type PriceQty = (i64, i64);
type Touch = Option<(PriceQty, PriceQty)>;

/// The simulation state.
#[derive(Debug, Clone)]
pub struct SyntheticMarket {
    p: SyntheticParams,
    rng: StdRng,
    book: SimBook,
    start_us: u64,
    /// Simulated seconds since start.
    t: f64,
    /// Hawkes excitation of market buys [0] and sells [1].
    excitation: [f64; 2],
    update_id: u64,
    trade_id: u64,
    window_first: Option<u64>,
    changed: BTreeSet<(bool, i64)>,
    next_boundary: f64,
    last_touch: Touch,
    out: VecDeque<SimEvent>,
    fills: Vec<Fill>,
    emitting: bool,
}

impl SyntheticMarket {
    /// A market seeded with `seed` whose clock starts at `start_time_us` (after a silent warm-up).
    pub fn new(seed: u64, start_time_us: u64, params: SyntheticParams) -> Self {
        let mut m = Self {
            rng: StdRng::seed_from_u64(seed),
            book: SimBook::default(),
            start_us: start_time_us,
            t: 0.0,
            excitation: [0.0; 2],
            update_id: FIRST_UPDATE_ID,
            trade_id: FIRST_TRADE_ID,
            window_first: None,
            changed: BTreeSet::new(),
            next_boundary: 0.0,
            last_touch: None,
            out: VecDeque::new(),
            fills: Vec::new(),
            emitting: false,
            p: params,
        };
        let mid = m.p.start_mid_ticks;
        let size = m.lots(m.p.limit_size_median);
        for k in 0..20 {
            m.book.add(Side::Bid, mid - 1 - 5 * k, size);
            m.book.add(Side::Ask, mid + 1 + 5 * k, size);
        }
        let warmup_end = m.p.warmup_secs.max(0.0);
        while m.t < warmup_end {
            let total = 2.0 * m.p.limit_rate + m.p.cancel_rate * m.book.order_count() as f64;
            m.t += exponential(&mut m.rng, total);
            if chance(&mut m.rng, 2.0 * m.p.limit_rate / total) {
                let side = if chance(&mut m.rng, 0.5) {
                    Side::Bid
                } else {
                    Side::Ask
                };
                m.limit_order(side);
            } else {
                m.cancel();
            }
        }
        m.t = 0.0;
        m.changed.clear();
        m.window_first = None;
        m.update_id = FIRST_UPDATE_ID;
        m.next_boundary = m.p.diff_interval_us as f64 / 1e6;
        m.last_touch = m.touch();
        m.emitting = true;
        m
    }

    /// Current simulated exchange time (µs).
    pub fn now_us(&self) -> u64 {
        self.start_us + (self.t * 1e6) as u64
    }

    /// Moves the clock forward by `us` with nothing happening (a paused market resumes at the
    /// current time; the simulated dynamics continue from where they stopped).
    pub fn skip(&mut self, us: u64) {
        self.start_us = self.start_us.saturating_add(us);
    }

    /// The book as a REST snapshot (`limit` levels per side) at the last update id.
    pub fn snapshot(&self, limit: usize) -> DepthSnapshot {
        let conv = |v: Vec<(i64, i64)>| v.into_iter().map(|(p, q)| Level::new(p, q)).collect();
        DepthSnapshot {
            last_update_id: self.update_id,
            bids: conv(self.book.levels(Side::Bid, limit)),
            asks: conv(self.book.levels(Side::Ask, limit)),
        }
    }

    /// Best bid and ask (price, qty) of the simulated book.
    pub fn best(&self) -> (Option<PriceQty>, Option<PriceQty>) {
        (self.book.best(Side::Bid), self.book.best(Side::Ask))
    }

    /// The next event (the simulation never ends).
    pub fn next_event(&mut self) -> SimEvent {
        loop {
            if let Some(e) = self.out.pop_front() {
                return e;
            }
            self.step();
        }
    }

    fn lots(&self, btc: f64) -> i64 {
        let step = (self.p.size_step * LOTS_PER_BTC).round().max(1.0);
        let steps = (btc * LOTS_PER_BTC / step).round().clamp(1.0, 1e7);
        (steps * step) as i64
    }

    fn touch(&self) -> Touch {
        Some((self.book.best(Side::Bid)?, self.book.best(Side::Ask)?))
    }

    /// One step of the point process (or one diff boundary).
    fn step(&mut self) {
        let base = self.p.market_base_rate;
        let k = self.p.imbalance_reactivity.clamp(0.0, 1.0);
        let bound = 2.0 * self.p.limit_rate
            + self.p.cancel_rate * self.book.order_count() as f64
            + (1.0 + k) * (2.0 * base + self.excitation[0] + self.excitation[1]);
        let dt = exponential(&mut self.rng, bound);
        if self.t + dt >= self.next_boundary {
            self.advance(self.next_boundary - self.t);
            self.flush_diff();
            self.next_boundary += self.p.diff_interval_us as f64 / 1e6;
            return;
        }
        self.advance(dt);
        let limit = 2.0 * self.p.limit_rate;
        let cancel = self.p.cancel_rate * self.book.order_count() as f64;
        let tilt = k * self.touch_imbalance();
        let buy = (base + self.excitation[0]) * (1.0 + tilt);
        let sell = (base + self.excitation[1]) * (1.0 - tilt);
        let u = self.rng.random_range(0.0..bound);
        let side_of = |first| if first { Side::Bid } else { Side::Ask };
        if u < limit {
            self.limit_order(side_of(u < limit / 2.0));
        } else if u < limit + cancel {
            self.cancel();
        } else if u < limit + cancel + buy {
            self.market_order(0);
        } else if u < limit + cancel + buy + sell {
            self.market_order(1);
        } else {
            return; // thinning rejection
        }
        self.emit_touch();
    }

    /// `(bidQty − askQty) / (bidQty + askQty)` at the touch, 0 when a side is empty.
    fn touch_imbalance(&self) -> f64 {
        match self.touch() {
            Some(((_, bq), (_, aq))) if bq + aq > 0 => (bq - aq) as f64 / (bq + aq) as f64,
            _ => 0.0,
        }
    }

    fn advance(&mut self, dt: f64) {
        let decay = (-self.p.hawkes_beta * dt).exp();
        for e in &mut self.excitation {
            *e *= decay;
        }
        self.t += dt;
    }

    fn mark(&mut self, side: Side, price: i64) {
        self.changed.insert((side == Side::Bid, price));
    }

    fn bump(&mut self) {
        self.update_id += 1;
        self.window_first.get_or_insert(self.update_id);
    }

    fn limit_order(&mut self, side: Side) {
        let (bid, ask) = (self.book.best(Side::Bid), self.book.best(Side::Ask));
        let mid = self.p.start_mid_ticks;
        let sign = if side == Side::Bid { 1 } else { -1 };
        let same = match side {
            Side::Bid => bid.map(|b| b.0),
            Side::Ask => ask.map(|a| a.0),
        };
        let opp = match side {
            Side::Bid => ask.map(|a| a.0),
            Side::Ask => bid.map(|b| b.0),
        };
        let reference = same.or(opp.map(|o| o - sign)).unwrap_or(mid - sign);
        let spread = match (bid, ask) {
            (Some(b), Some(a)) => a.0 - b.0,
            _ => 1,
        };
        // Queue-reactive refill: inside a wide spread the heavier side improves more often.
        let tilt =
            self.p.imbalance_reactivity.clamp(0.0, 1.0) * self.touch_imbalance() * f64::from(sign as i32);
        let p_improve = (self.p.p_improve * (1.0 + tilt)).clamp(0.0, 1.0);
        let price = if spread > 1 && chance(&mut self.rng, p_improve) {
            let o = opp.unwrap_or(reference + sign);
            if chance(&mut self.rng, 0.5) {
                o - sign
            } else {
                reference + sign * uniform(&mut self.rng, 1, spread - 1)
            }
        } else if same.is_some() && chance(&mut self.rng, self.p.p_join) {
            reference
        } else {
            let k = if chance(&mut self.rng, self.p.p_near) {
                uniform(&mut self.rng, 1, self.p.near_ticks)
            } else {
                uniform(&mut self.rng, 1, self.p.far_ticks)
            };
            reference - sign * k
        };
        // Never cross or lock the book.
        let price = match (side, opp) {
            (Side::Bid, Some(a)) => price.min(a - 1),
            (Side::Ask, Some(b)) => price.max(b + 1),
            _ => price,
        };
        if price <= 0 {
            return;
        }
        let size = log_normal(&mut self.rng, self.p.limit_size_median, self.p.limit_size_sigma);
        let qty = self.lots(size);
        self.book.add(side, price, qty);
        if self.emitting {
            self.bump();
            self.mark(side, price);
        }
    }

    fn cancel(&mut self) {
        let n = self.book.order_count();
        if n == 0 {
            return;
        }
        let k = uniform(&mut self.rng, 0, n as i64 - 1) as usize;
        if let Some((side, price)) = self.book.cancel_nth(k)
            && self.emitting
        {
            self.bump();
            self.mark(side, price);
        }
    }

    /// `dir` 0 = buy (hits asks), 1 = sell (hits bids).
    fn market_order(&mut self, dir: usize) {
        let resting = if dir == 0 { Side::Ask } else { Side::Bid };
        let available: i64 = self
            .book
            .levels(resting, self.p.max_sweep_levels)
            .iter()
            .map(|l| l.1)
            .sum();
        if self.book.level_count(resting) < 2 || available <= 1 {
            return;
        }
        let size = log_normal(&mut self.rng, self.p.market_size_median, self.p.market_size_sigma);
        let wanted = self.lots(size);
        let qty = wanted.min(available - 1);
        let mut fills = std::mem::take(&mut self.fills);
        self.book.execute(resting, qty, &mut fills);
        self.excitation[dir] += self.p.hawkes_alpha;
        self.excitation[1 - dir] += self.p.hawkes_cross;
        if !fills.is_empty() {
            self.bump();
            let time = self.now_us();
            let mut trades = Vec::with_capacity(fills.len());
            for f in &fills {
                self.trade_id += 1;
                self.mark(resting, f.price);
                trades.push(Trade {
                    event_time_us: time,
                    trade_id: self.trade_id,
                    price: f.price,
                    qty: f.qty,
                    is_buyer_maker: dir == 1,
                });
            }
            self.out.push_back(SimEvent::Trades {
                transact_time_us: time,
                fills: trades,
            });
        }
        self.fills = fills;
    }

    fn emit_touch(&mut self) {
        let touch = self.touch();
        if touch == self.last_touch {
            return;
        }
        self.last_touch = touch;
        if let Some(((bp, bq), (ap, aq))) = touch {
            self.out.push_back(SimEvent::BestBidAsk(BestBidAsk {
                event_time_us: self.now_us(),
                update_id: self.update_id,
                bid: Level::new(bp, bq),
                ask: Level::new(ap, aq),
            }));
        }
    }

    fn flush_diff(&mut self) {
        let Some(first) = self.window_first.take() else {
            return;
        };
        let mut diff = DepthDiff {
            first_update_id: first,
            last_update_id: self.update_id,
            event_time_us: self.now_us(),
            bids: Vec::new(),
            asks: Vec::new(),
        };
        for (is_bid, price) in std::mem::take(&mut self.changed) {
            let side = if is_bid { Side::Bid } else { Side::Ask };
            let level = Level::new(price, self.book.total_at(side, price));
            if is_bid {
                diff.bids.push(level);
            } else {
                diff.asks.push(level);
            }
        }
        diff.bids.reverse();
        self.out.push_back(SimEvent::DepthDiff(diff));
    }
}
