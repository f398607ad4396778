//! Events as the ingestor builds them (borrowed, no allocation) and their SBE encoding.

use crate::EncodeError;
use crate::schema::{self, BoolEnum, GapReason, ReconnectReason, StreamKind};

/// Receive-side facts every event carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventMeta {
    /// Ingestor wall-clock receive time, ns since the Unix epoch.
    pub ingest_time_ns: i64,
    /// Exchange connection epoch (bumped on every reconnect).
    pub connection_epoch: u64,
}

/// One fill of a trade event (price/qty are mantissas of the event's exponents).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    pub trade_id: i64,
    pub price: i64,
    pub qty: i64,
    pub is_buyer_maker: bool,
}

/// One book level (mantissas of the event's exponents); qty 0 removes the level in a diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceLevel {
    pub price: i64,
    pub qty: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradeEvent<'a> {
    pub meta: EventMeta,
    pub symbol: &'a str,
    pub event_time_us: i64,
    pub trade_time_us: i64,
    pub price_exponent: i8,
    pub qty_exponent: i8,
    pub fills: &'a [Fill],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BestBidAskEvent<'a> {
    pub meta: EventMeta,
    pub symbol: &'a str,
    pub event_time_us: i64,
    pub book_update_id: i64,
    pub price_exponent: i8,
    pub qty_exponent: i8,
    pub bid_price: i64,
    pub bid_qty: i64,
    pub ask_price: i64,
    pub ask_qty: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthDiffEvent<'a> {
    pub meta: EventMeta,
    pub symbol: &'a str,
    pub event_time_us: i64,
    /// Binance `U`.
    pub first_update_id: i64,
    /// Binance `u`.
    pub last_update_id: i64,
    pub price_exponent: i8,
    pub qty_exponent: i8,
    pub bids: &'a [PriceLevel],
    pub asks: &'a [PriceLevel],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthSnapshotEvent<'a> {
    pub meta: EventMeta,
    pub symbol: &'a str,
    /// Spot REST depth carries no exchange time.
    pub exchange_time_us: Option<i64>,
    pub last_update_id: i64,
    pub price_exponent: i8,
    pub qty_exponent: i8,
    pub bids: &'a [PriceLevel],
    pub asks: &'a [PriceLevel],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamGapEvent<'a> {
    pub meta: EventMeta,
    pub symbol: &'a str,
    pub stream: StreamKind,
    pub reason: GapReason,
    pub last_good_update_id: Option<i64>,
    pub received_update_id: Option<i64>,
    pub event_time_us: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectedEvent<'a> {
    pub meta: EventMeta,
    pub symbol: &'a str,
    pub previous_epoch: Option<u64>,
    pub reason: ReconnectReason,
    pub downtime_ns: Option<i64>,
}

/// An event to append to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    Trade(TradeEvent<'a>),
    BestBidAsk(BestBidAskEvent<'a>),
    DepthDiff(DepthDiffEvent<'a>),
    DepthSnapshot(DepthSnapshotEvent<'a>),
    StreamGap(StreamGapEvent<'a>),
    Reconnected(ReconnectedEvent<'a>),
}

fn bool_enum(v: bool) -> BoolEnum {
    if v { BoolEnum::True } else { BoolEnum::False }
}

macro_rules! levels {
    ($enc:expr, $group:ident, $levels:expr) => {{
        let mut g = $enc.$group()?;
        for l in $levels {
            g.entry()?.price(l.price).qty(l.qty);
        }
    }};
}

impl Event<'_> {
    /// Appends this event as one SBE message (header included) to `out`; returns its length.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<usize, EncodeError> {
        Ok(match self {
            Self::Trade(e) => {
                let mut enc = schema::TradeEncoder::new(out);
                enc.event_time_us(e.event_time_us)
                    .trade_time_us(e.trade_time_us)
                    .ingest_time_ns(e.meta.ingest_time_ns)
                    .connection_epoch(e.meta.connection_epoch)
                    .price_exponent(e.price_exponent)
                    .qty_exponent(e.qty_exponent);
                {
                    let mut g = enc.fills()?;
                    for f in e.fills {
                        g.entry()?
                            .trade_id(f.trade_id)
                            .price(f.price)
                            .qty(f.qty)
                            .is_buyer_maker(bool_enum(f.is_buyer_maker));
                    }
                }
                enc.symbol(e.symbol)?;
                enc.finish()
            }
            Self::BestBidAsk(e) => {
                let mut enc = schema::BestBidAskEncoder::new(out);
                enc.event_time_us(e.event_time_us)
                    .ingest_time_ns(e.meta.ingest_time_ns)
                    .connection_epoch(e.meta.connection_epoch)
                    .book_update_id(e.book_update_id)
                    .price_exponent(e.price_exponent)
                    .qty_exponent(e.qty_exponent)
                    .bid_price(e.bid_price)
                    .bid_qty(e.bid_qty)
                    .ask_price(e.ask_price)
                    .ask_qty(e.ask_qty);
                enc.symbol(e.symbol)?;
                enc.finish()
            }
            Self::DepthDiff(e) => {
                let mut enc = schema::DepthDiffEncoder::new(out);
                enc.event_time_us(e.event_time_us)
                    .ingest_time_ns(e.meta.ingest_time_ns)
                    .connection_epoch(e.meta.connection_epoch)
                    .first_update_id(e.first_update_id)
                    .last_update_id(e.last_update_id)
                    .price_exponent(e.price_exponent)
                    .qty_exponent(e.qty_exponent);
                levels!(enc, bids, e.bids);
                levels!(enc, asks, e.asks);
                enc.symbol(e.symbol)?;
                enc.finish()
            }
            Self::DepthSnapshot(e) => {
                let mut enc = schema::DepthSnapshotEncoder::new(out);
                enc.exchange_time_us(e.exchange_time_us)
                    .ingest_time_ns(e.meta.ingest_time_ns)
                    .connection_epoch(e.meta.connection_epoch)
                    .last_update_id(e.last_update_id)
                    .price_exponent(e.price_exponent)
                    .qty_exponent(e.qty_exponent);
                levels!(enc, bids, e.bids);
                levels!(enc, asks, e.asks);
                enc.symbol(e.symbol)?;
                enc.finish()
            }
            Self::StreamGap(e) => {
                let mut enc = schema::StreamGapEncoder::new(out);
                enc.ingest_time_ns(e.meta.ingest_time_ns)
                    .connection_epoch(e.meta.connection_epoch)
                    .stream(e.stream)
                    .reason(e.reason)
                    .last_good_update_id(e.last_good_update_id)
                    .received_update_id(e.received_update_id)
                    .event_time_us(e.event_time_us);
                enc.symbol(e.symbol)?;
                enc.finish()
            }
            Self::Reconnected(e) => {
                let mut enc = schema::ReconnectedEncoder::new(out);
                enc.ingest_time_ns(e.meta.ingest_time_ns)
                    .connection_epoch(e.meta.connection_epoch)
                    .previous_epoch(e.previous_epoch)
                    .reason(e.reason)
                    .downtime_ns(e.downtime_ns);
                enc.symbol(e.symbol)?;
                enc.finish()
            }
        })
    }
}
