//! The incremental feature engine: O(1) / O(log n) per event, deterministic on exchange event time.

use market::{BestBidAsk, InstrumentScale, TopOfBook, Trade};

use crate::history::{MidHistory, SecondReturns};
use crate::input::FeatureInput;
use crate::math::{bbo_is_valid, imbalance, log_return_bps, mid2, ofi_contribution, ratio};
use crate::spec::{
    FLOW_WINDOWS_US, IMBALANCE_LEVELS, RETURN_HORIZONS_US, RV_WINDOWS_S, TIME_SINCE_TRADE_CAP_S,
    TRADE_RATE_WINDOW, VWAP_WINDOW, idx,
};
use crate::vector::FeatureVector;
use crate::windows::{FlowEvent, FlowWindows};

/// Counters of inputs the engine had to adjust or drop (for metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineCounters {
    /// Events whose time was before the engine clock (treated as happening "now").
    pub late_events: u64,
    /// Best bid/ask updates that were crossed or non-positive (ignored).
    pub invalid_bbo: u64,
}

/// Per-symbol incremental feature state.
#[derive(Debug, Clone)]
pub struct FeatureEngine {
    scale: InstrumentScale,
    now_us: u64,
    started_us: Option<u64>,
    bbo: Option<BestBidAsk>,
    /// `(Σ bid qty, Σ ask qty)` over the top 1/5/10 levels, `None` per depth when a side is too shallow.
    book: Option<[Option<(i128, i128)>; 3]>,
    flow: FlowWindows,
    mids: MidHistory,
    seconds: SecondReturns,
    last_trade_us: Option<u64>,
    counters: EngineCounters,
}

impl FeatureEngine {
    /// A cold engine for one instrument.
    pub fn new(scale: InstrumentScale) -> Self {
        Self {
            scale,
            now_us: 0,
            started_us: None,
            bbo: None,
            book: None,
            flow: FlowWindows::default(),
            mids: MidHistory::new(RETURN_HORIZONS_US[RETURN_HORIZONS_US.len() - 1]),
            seconds: SecondReturns::default(),
            last_trade_us: None,
            counters: EngineCounters::default(),
        }
    }

    /// Engine clock (µs): the latest event time seen.
    pub fn now_us(&self) -> u64 {
        self.now_us
    }

    /// Adjusted / dropped input counters.
    pub fn counters(&self) -> EngineCounters {
        self.counters
    }

    /// Applies any input.
    pub fn apply(&mut self, input: &FeatureInput) {
        match input {
            FeatureInput::Bbo(b) => self.on_bbo(b),
            FeatureInput::Trade(t) => self.on_trade(t),
            FeatureInput::Book { time_us, top } => self.on_book(*time_us, top),
            FeatureInput::BookLost { time_us } => self.on_book_lost(*time_us),
            FeatureInput::Clock { time_us } => self.advance_to(*time_us),
        }
    }

    /// Moves the clock forward (expires windows, closes seconds). Earlier times are clamped to the clock.
    pub fn advance_to(&mut self, time_us: u64) {
        if time_us < self.now_us {
            self.counters.late_events += 1;
            return;
        }
        self.started_us.get_or_insert(time_us);
        self.now_us = time_us;
        self.flow.expire(time_us);
        self.seconds.roll(time_us, self.bbo.as_ref().map(mid2));
    }

    /// Best bid/ask update: mid, microprice, spread, returns, order-flow imbalance.
    pub fn on_bbo(&mut self, bbo: &BestBidAsk) {
        self.advance_to(bbo.event_time_us);
        if !bbo_is_valid(bbo) {
            self.counters.invalid_bbo += 1;
            return;
        }
        if let Some(prev) = &self.bbo {
            let e = ofi_contribution(prev, bbo);
            if e != 0 {
                self.flow.push(FlowEvent {
                    t_us: self.now_us,
                    ofi: e,
                    ofi_abs: e.saturating_abs(),
                    ..Default::default()
                });
            }
        }
        self.mids.record(self.now_us, mid2(bbo));
        self.bbo = Some(*bbo);
    }

    /// Trade: flow imbalance, volume, rate, VWAP, time since last trade.
    pub fn on_trade(&mut self, trade: &Trade) {
        self.advance_to(trade.event_time_us);
        let (buy, sell) = if trade.is_buyer_maker {
            (0, trade.qty)
        } else {
            (trade.qty, 0)
        };
        let notional = i128::from(trade.price) * i128::from(trade.qty);
        self.flow.push(FlowEvent {
            t_us: self.now_us,
            buy,
            sell,
            trades: 1,
            notional,
            ..Default::default()
        });
        self.last_trade_us = Some(self.now_us);
    }

    /// New top-N book view (from a synced book): book imbalances.
    pub fn on_book(&mut self, time_us: u64, top: &TopOfBook) {
        self.advance_to(time_us);
        self.book = Some(IMBALANCE_LEVELS.map(|n| depth_sums(top, n)));
    }

    /// The book stopped being synced: book features go cold until the next [`Self::on_book`].
    pub fn on_book_lost(&mut self, time_us: u64) {
        self.advance_to(time_us);
        self.book = None;
    }

    /// Computes the feature vector as of the engine clock.
    pub fn compute(&self) -> FeatureVector {
        let mut v = FeatureVector {
            event_time_us: self.now_us,
            ..FeatureVector::default()
        };
        let now = self.now_us;
        let covered = |w: u64| self.started_us.is_some_and(|s| now - s >= w);
        let bbo = self.bbo.as_ref();
        let m2 = bbo.map(mid2);
        v.set(idx::MID_PRICE, m2.map(|m| self.scale.price_f64(m) / 2.0));
        v.set(idx::MICROPRICE_DEV_BPS, bbo.and_then(microprice_dev_bps));
        v.set(
            idx::SPREAD_BPS,
            bbo.map(|b| (b.ask.price - b.bid.price) as f64 * 2.0 / mid2(b) as f64 * 1e4),
        );
        for (k, slot) in (0..IMBALANCE_LEVELS.len()).zip(idx::BOOK_IMBALANCE..) {
            let sums = self.book.and_then(|b| b.get(k).copied().flatten());
            v.set(slot, sums.map(|(b, a)| imbalance(b, a)));
        }
        for (w, width) in FLOW_WINDOWS_US.iter().enumerate() {
            let s = self.flow.sums(w);
            let ok = covered(*width);
            v.set(idx::OFI + w, ok.then(|| ratio(s.ofi, s.ofi_abs)));
            v.set(
                idx::TFI + w,
                ok.then(|| imbalance(i128::from(s.buy), i128::from(s.sell))),
            );
            v.set(
                idx::LOG_VOLUME + w,
                ok.then(|| self.scale.qty_f64(s.buy + s.sell).ln_1p()),
            );
        }
        for (i, h) in RETURN_HORIZONS_US.iter().enumerate() {
            let then = now.checked_sub(*h).and_then(|t| self.mids.at(t));
            v.set(idx::RETURN + i, m2.zip(then).map(|(a, b)| log_return_bps(a, b)));
        }
        for (i, w) in RV_WINDOWS_S.iter().enumerate() {
            v.set(idx::REALIZED_VOL + i, self.seconds.realized_vol(*w));
        }
        let rate_w = FLOW_WINDOWS_US[TRADE_RATE_WINDOW];
        let trades = self.flow.sums(TRADE_RATE_WINDOW).trades as f64;
        v.set(
            idx::TRADE_RATE_10S,
            covered(rate_w).then(|| trades / (rate_w as f64 / 1e6)),
        );
        let vw = self.flow.sums(VWAP_WINDOW);
        let qty = vw.buy + vw.sell;
        let vwap_dev = m2
            .filter(|_| covered(FLOW_WINDOWS_US[VWAP_WINDOW]) && qty > 0)
            .map(|m| {
                let vwap = vw.notional as f64 / qty as f64;
                (m as f64 / 2.0 - vwap) / vwap * 1e4
            });
        v.set(idx::VWAP_DEV_30S_BPS, vwap_dev);
        let since = self
            .last_trade_us
            .map(|t| ((now - t) as f64 / 1e6).min(TIME_SINCE_TRADE_CAP_S));
        v.set(idx::TIME_SINCE_LAST_TRADE_S, since);
        v
    }
}

/// `(microprice - mid) / mid` in bps; `None` when both sizes are zero.
pub(crate) fn microprice_dev_bps(b: &BestBidAsk) -> Option<f64> {
    let (bq, aq) = (b.bid.qty as f64, b.ask.qty as f64);
    if bq + aq <= 0.0 {
        return None;
    }
    let (bid, ask) = (b.bid.price as f64, b.ask.price as f64);
    let micro = (bid * aq + ask * bq) / (bq + aq);
    let mid = (bid + ask) / 2.0;
    Some((micro - mid) / mid * 1e4)
}

/// `(Σ bid qty, Σ ask qty)` over the top `n` levels, when both sides have at least `n` levels.
pub(crate) fn depth_sums(top: &TopOfBook, n: usize) -> Option<(i128, i128)> {
    let sum = |levels: &[market::Level]| -> Option<i128> {
        let slice = levels.get(..n)?;
        Some(slice.iter().map(|l| i128::from(l.qty)).sum())
    };
    Some((sum(&top.bids)?, sum(&top.asks)?))
}
