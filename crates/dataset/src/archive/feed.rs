//! Archived record payloads → the dataset [`Sampler`], under the rules the aggregator applies to the
//! live stream (`services/aggregator/src/{pipeline,state,convert}.rs`): a record that does not decode
//! is skipped; a record whose `(producerId, batchSequence)` is not above the last one of its producer
//! is an at-least-once duplicate and skipped; events of another symbol are skipped; a `StreamGap` on a
//! book stream, a `Reconnected` marker, or a newer connection epoch without its marker is a book gap; a
//! snapshot from a connection older than the last gap is ignored; an event whose values do not fit the
//! instrument scale is poison and skipped. The equality with the aggregator is tested on a recorded
//! run (`tests/archive_online.rs`).

use market::recording::RecordedEvent;
use market::{BestBidAsk, DepthDiff, DepthSnapshot, InstrumentScale, Level, Trade};
use pipeline_events::schema::{BoolEnum, DepthDiffDecoder, DepthSnapshotDecoder};
use pipeline_events::{EventView, RecordReader, StreamKind};

use crate::replay::Sampler;

/// What the feed saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedStats {
    /// Records read.
    pub records: u64,
    /// Records that did not decode (skipped).
    pub bad_records: u64,
    /// At-least-once duplicates (skipped).
    pub duplicates: u64,
    /// Events that did not decode, belonged to another symbol, or did not fit the scale (skipped).
    pub skipped_events: u64,
    /// Book gaps (gap markers, reconnects, new connections).
    pub gaps: u64,
}

/// Feeds records into a sampler.
#[derive(Debug)]
pub struct ArchiveFeed {
    symbol: String,
    scale: InstrumentScale,
    /// Last batch sequence per producer (the aggregator keeps the same pairs).
    producers: Vec<(u64, u64)>,
    conn_epoch: Option<u64>,
    gap_conn_epoch: u64,
    trades: Vec<Trade>,
    stats: FeedStats,
}

impl ArchiveFeed {
    /// A feed for `symbol` with the instrument `scale`.
    pub fn new(symbol: &str, scale: InstrumentScale) -> Self {
        Self {
            symbol: symbol.to_string(),
            scale,
            producers: Vec::new(),
            conn_epoch: None,
            gap_conn_epoch: 0,
            trades: Vec::new(),
            stats: FeedStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> FeedStats {
        self.stats
    }

    fn admit(&mut self, producer: u64, batch: u64) -> bool {
        match self.producers.iter_mut().find(|(p, _)| *p == producer) {
            Some((_, last)) if batch <= *last => false,
            Some((_, last)) => {
                *last = batch;
                true
            }
            None => {
                self.producers.push((producer, batch));
                true
            }
        }
    }

    /// Applies one record payload.
    pub fn push_record(&mut self, sampler: &mut Sampler, payload: &[u8]) {
        self.stats.records += 1;
        let Ok(reader) = RecordReader::new(payload) else {
            self.stats.bad_records += 1;
            return;
        };
        if !self.admit(reader.producer_id(), reader.batch_sequence()) {
            self.stats.duplicates += 1;
            return;
        }
        for ev in reader.events() {
            match ev {
                Ok(view) if view.symbol() == self.symbol => self.apply(sampler, &view),
                _ => self.stats.skipped_events += 1,
            }
        }
    }

    fn apply(&mut self, sampler: &mut Sampler, ev: &EventView<'_>) {
        let epoch = ev.meta().connection_epoch;
        if !matches!(ev, EventView::Reconnected(_)) && self.conn_epoch.is_some_and(|prev| epoch > prev) {
            self.gap(sampler, epoch);
        }
        self.conn_epoch = Some(self.conn_epoch.unwrap_or(0).max(epoch));
        let s = &self.scale;
        match ev {
            EventView::Trade(d) => {
                let (pe, qe) = (d.price_exponent(), d.qty_exponent());
                let t = u(d.event_time_us());
                self.trades.clear();
                for f in d.fills() {
                    let fill = level(s, f.price(), f.qty(), pe, qe).zip(u(f.trade_id()));
                    let (Some((l, id)), Some(t)) = (fill, t) else {
                        self.stats.skipped_events += 1;
                        return;
                    };
                    self.trades.push(Trade {
                        event_time_us: t,
                        trade_id: id,
                        price: l.price,
                        qty: l.qty,
                        is_buyer_maker: f.is_buyer_maker_raw() == BoolEnum::True.raw(),
                    });
                }
                for t in self.trades.drain(..) {
                    sampler.push(RecordedEvent::Trade(t));
                }
            }
            EventView::BestBidAsk(d) => {
                let (pe, qe) = (d.price_exponent(), d.qty_exponent());
                let bbo = (|| {
                    Some(BestBidAsk {
                        event_time_us: u(d.event_time_us())?, // 0 = "now", as in the aggregator
                        update_id: u(d.book_update_id())?,
                        bid: level(s, d.bid_price(), d.bid_qty(), pe, qe)?,
                        ask: level(s, d.ask_price(), d.ask_qty(), pe, qe)?,
                    })
                })();
                match bbo {
                    Some(b) => sampler.push(RecordedEvent::BookTicker(b)),
                    None => self.stats.skipped_events += 1,
                }
            }
            EventView::DepthDiff(d) => match diff(s, d) {
                Some(d) => sampler.push(RecordedEvent::Depth(d)),
                None => self.stats.skipped_events += 1,
            },
            EventView::DepthSnapshot(d) => {
                if epoch < self.gap_conn_epoch {
                    self.stats.skipped_events += 1;
                    return;
                }
                match snapshot(s, d) {
                    Some(snap) => sampler.push(RecordedEvent::Snapshot(snap)),
                    None => self.stats.skipped_events += 1,
                }
            }
            EventView::StreamGap(d) => {
                let book = matches!(
                    d.stream(),
                    Ok(StreamKind::All | StreamKind::Depth | StreamKind::DepthSnapshot)
                );
                if book {
                    self.gap(sampler, epoch);
                }
            }
            EventView::Reconnected(_) => self.gap(sampler, epoch),
        }
    }

    fn gap(&mut self, sampler: &mut Sampler, conn_epoch: u64) {
        self.gap_conn_epoch = self.gap_conn_epoch.max(conn_epoch);
        if sampler.push_gap() {
            self.stats.gaps += 1;
        }
    }
}

fn u(v: i64) -> Option<u64> {
    u64::try_from(v).ok()
}

fn level(scale: &InstrumentScale, p: i64, q: i64, pe: i8, qe: i8) -> Option<Level> {
    Some(Level::new(
        scale.price_from_mantissa(p, pe).ok()?,
        scale.qty_from_mantissa(q, qe).ok()?,
    ))
}

fn diff(s: &InstrumentScale, d: &DepthDiffDecoder<'_>) -> Option<DepthDiff> {
    let (pe, qe) = (d.price_exponent(), d.qty_exponent());
    Some(DepthDiff {
        first_update_id: u(d.first_update_id())?,
        last_update_id: u(d.last_update_id())?,
        event_time_us: u(d.event_time_us())?,
        bids: d
            .bids()
            .map(|l| level(s, l.price(), l.qty(), pe, qe))
            .collect::<Option<_>>()?,
        asks: d
            .asks()
            .map(|l| level(s, l.price(), l.qty(), pe, qe))
            .collect::<Option<_>>()?,
    })
}

fn snapshot(s: &InstrumentScale, d: &DepthSnapshotDecoder<'_>) -> Option<DepthSnapshot> {
    let (pe, qe) = (d.price_exponent(), d.qty_exponent());
    Some(DepthSnapshot {
        last_update_id: u(d.last_update_id())?,
        bids: d
            .bids()
            .map(|l| level(s, l.price(), l.qty(), pe, qe))
            .collect::<Option<_>>()?,
        asks: d
            .asks()
            .map(|l| level(s, l.price(), l.qty(), pe, qe))
            .collect::<Option<_>>()?,
    })
}
