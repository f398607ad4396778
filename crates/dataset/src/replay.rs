//! Replays events through `market::BookSync` and `features::FeatureEngine` — the same calls the
//! aggregator makes — and takes a feature snapshot on a fixed exchange-time grid.
//!
//! A sample at grid time `T` sees every event with time `≤ T`: it is taken when the first event with a
//! later time arrives, after advancing the engine clock to `T` (as a timer tick in the aggregator would).
//! Spot `bookTicker` carries no event time; like the aggregator, the replay uses the latest exchange time
//! seen (trade or depth).

use features::spec::idx;
use features::{FeatureEngine, FeatureVector};
use market::recording::RecordedEvent;
use market::{BookSync, InstrumentScale, SyncConfig, SyncOutcome, SyncState, TopOfBook};

use crate::source::PriceReference;

/// Book depth handed to the feature engine.
const TOP_LEVELS: usize = 10;

/// One feature snapshot on the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Grid time (exchange µs).
    pub time_us: u64,
    /// Features as of `time_us`.
    pub features: FeatureVector,
    /// The book was synced at `time_us` (always `true` for trades-only sources).
    pub synced: bool,
    /// Reference price at `time_us` (mid, or last trade price for trades-only sources).
    pub price: Option<f64>,
}

/// Counts of what the replay saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Events consumed.
    pub events: u64,
    /// Times the book became synced.
    pub reanchors: u64,
    /// Times the book left the synced state.
    pub book_lost: u64,
    /// Samples taken.
    pub samples: u64,
    /// Samples taken while synced.
    pub synced_samples: u64,
    /// Archive sources: records read, skipped, duplicates and gaps.
    pub archive: Option<crate::archive::feed::FeedStats>,
}

/// Replays events and samples features every `every_us`.
#[derive(Debug)]
pub struct Sampler {
    every_us: u64,
    has_book: bool,
    price_ref: PriceReference,
    scale: InstrumentScale,
    sync: BookSync,
    engine: FeatureEngine,
    top: TopOfBook,
    exchange_now: u64,
    next_sample_us: Option<u64>,
    last_trade: Option<f64>,
    /// Whether the engine currently holds a synced book view.
    engine_has_book: bool,
    /// Fed with full book views ([`Self::push_view`]) instead of diffs.
    views: bool,
    /// A snapshot arrived since the last gap (the aggregator's rule for ignoring idle gap markers).
    snapshot_seen: bool,
    samples: Vec<Sample>,
    stats: ReplayStats,
}

impl Sampler {
    /// A sampler with a grid step of `every_us` (> 0).
    pub fn new(every_us: u64, has_book: bool, price_ref: PriceReference, scale: InstrumentScale) -> Self {
        Self {
            every_us: every_us.max(1),
            has_book,
            price_ref,
            scale,
            sync: BookSync::new(SyncConfig::default()),
            engine: FeatureEngine::new(scale),
            top: TopOfBook::with_capacity(TOP_LEVELS),
            exchange_now: 0,
            next_sample_us: None,
            last_trade: None,
            engine_has_book: false,
            views: false,
            snapshot_seen: false,
            samples: Vec::new(),
            stats: ReplayStats::default(),
        }
    }

    /// Consumes one event.
    pub fn push(&mut self, event: RecordedEvent) {
        self.stats.events += 1;
        let time = match &event {
            RecordedEvent::Depth(d) => Some(d.event_time_us),
            RecordedEvent::Trade(t) => Some(t.event_time_us),
            RecordedEvent::BookTicker(b) if b.event_time_us != 0 => Some(b.event_time_us),
            RecordedEvent::BookTicker(_) => (self.exchange_now > 0).then_some(self.exchange_now),
            RecordedEvent::Snapshot(_) => None,
        };
        if let Some(t) = time {
            self.sample_before(t);
            self.exchange_now = self.exchange_now.max(t);
        }
        match event {
            RecordedEvent::Depth(d) => {
                let t = d.event_time_us;
                let outcome = self.sync.on_diff(d);
                self.note_gap(&outcome, t);
                self.after_sync(outcome.book_changed(), t);
            }
            RecordedEvent::Snapshot(s) => {
                self.snapshot_seen = true;
                let outcome = self.sync.on_snapshot(self.sync.epoch(), &s);
                self.note_gap(&outcome, self.engine.now_us());
                self.after_sync(outcome.book_changed(), self.exchange_now);
            }
            RecordedEvent::Trade(t) => {
                self.last_trade = Some(self.scale.price_f64(t.price));
                self.engine.on_trade(&t);
            }
            RecordedEvent::BookTicker(mut b) => {
                if b.event_time_us == 0 {
                    b.event_time_us = self.exchange_now;
                }
                self.engine.on_bbo(&b);
            }
        }
    }

    /// Consumes one full top-of-book view (snapshot series without diffs or trades): the engine gets its
    /// best bid/ask and its book levels at the view's time, and the book counts as synced from then on.
    pub fn push_view(&mut self, view: crate::depth10::BookView) {
        self.stats.events += 1;
        let t = view.time_us;
        self.sample_before(t);
        self.exchange_now = self.exchange_now.max(t);
        if let (Some(bid), Some(ask)) = (view.top.best_bid(), view.top.best_ask()) {
            self.engine.on_bbo(&market::BestBidAsk {
                event_time_us: t,
                update_id: 0,
                bid,
                ask,
            });
        }
        self.engine.on_book(t, &view.top);
        if !self.engine_has_book {
            self.stats.reanchors += 1;
        }
        self.engine_has_book = true;
        self.views = true;
    }

    /// A book gap signalled outside the diff chain (a gap marker or reconnect in the pipeline's own
    /// records), handled as the aggregator does: ignored while an attempt is idle (buffering, nothing
    /// buffered, no snapshot yet), otherwise the book is dropped and a new sync attempt starts. Returns
    /// whether it was applied.
    pub fn push_gap(&mut self) -> bool {
        let idle =
            self.sync.state() == SyncState::Buffering && self.sync.buffered() == 0 && !self.snapshot_seen;
        if idle {
            return false;
        }
        let outcome = self.sync.on_gap();
        if matches!(outcome, SyncOutcome::GapDetected { .. }) {
            self.snapshot_seen = false;
            self.engine.on_book_lost(self.engine.now_us());
            if self.engine_has_book {
                self.stats.book_lost += 1;
            }
        }
        self.engine_has_book = self.sync.state() == SyncState::Synced;
        true
    }

    /// Features as of the last event, without advancing the clock to a grid time: what the aggregator
    /// publishes after applying the same events.
    pub fn current(&self) -> FeatureVector {
        self.engine.compute()
    }

    /// A gap detected while no book is held still moves the engine clock to `time_us` (the aggregator
    /// drops the book on every detected gap); a held book is dropped by [`Self::after_sync`].
    fn note_gap(&mut self, outcome: &SyncOutcome, time_us: u64) {
        if matches!(outcome, SyncOutcome::GapDetected { .. }) {
            self.snapshot_seen = false;
            if !self.engine_has_book {
                self.engine.on_book_lost(time_us);
            }
        }
    }

    /// Samples and counters so far.
    pub fn finish(self) -> (Vec<Sample>, ReplayStats) {
        (self.samples, self.stats)
    }

    fn after_sync(&mut self, changed: bool, time_us: u64) {
        let was_synced = self.engine_has_book;
        let synced = self.sync.state() == SyncState::Synced;
        if let Some(book) = self.sync.book().filter(|_| changed) {
            book.top_n(TOP_LEVELS, &mut self.top);
            self.engine.on_book(time_us, &self.top);
            if !was_synced {
                self.stats.reanchors += 1;
            }
        }
        if was_synced && !synced {
            self.engine.on_book_lost(time_us);
            self.stats.book_lost += 1;
        }
        self.engine_has_book = synced;
    }

    /// Takes every grid sample strictly before `t`.
    fn sample_before(&mut self, t: u64) {
        let every = self.every_us;
        let mut next = *self
            .next_sample_us
            .get_or_insert_with(|| t.div_ceil(every) * every);
        while next < t {
            self.engine.advance_to(next);
            let mut features = self.engine.compute();
            if self.views {
                mark_trade_features_cold(&mut features);
            }
            let synced = !self.has_book
                || if self.views {
                    self.engine_has_book
                } else {
                    self.sync.state() == SyncState::Synced
                };
            let price = match self.price_ref {
                PriceReference::Mid => {
                    features.warm[idx::MID_PRICE].then_some(features.values[idx::MID_PRICE])
                }
                PriceReference::LastTrade => self.last_trade,
            };
            self.stats.samples += 1;
            self.stats.synced_samples += u64::from(synced);
            self.samples.push(Sample {
                time_us: next,
                features,
                synced,
                price,
            });
            next += every;
        }
        self.next_sample_us = Some(next);
    }
}

/// Features computed from trades: a snapshot series has none, so they are cold (value 0, not warm) instead of
/// the engine's "no trade in the window" zeros, which would claim a quiet market.
pub const TRADE_FEATURES: [usize; 11] = [
    idx::TFI,
    idx::TFI + 1,
    idx::TFI + 2,
    idx::TFI + 3,
    idx::LOG_VOLUME,
    idx::LOG_VOLUME + 1,
    idx::LOG_VOLUME + 2,
    idx::LOG_VOLUME + 3,
    idx::TRADE_RATE_10S,
    idx::VWAP_DEV_30S_BPS,
    idx::TIME_SINCE_LAST_TRADE_S,
];

fn mark_trade_features_cold(f: &mut FeatureVector) {
    for i in TRADE_FEATURES {
        f.values[i] = 0.0;
        f.warm[i] = false;
    }
}

#[cfg(test)]
mod tests;
