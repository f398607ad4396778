//! Decoded events (zero-copy views) and their owned form.

use crate::event::{
    BestBidAskEvent, DepthDiffEvent, DepthSnapshotEvent, Event, EventMeta, Fill, PriceLevel,
    ReconnectedEvent, StreamGapEvent, TradeEvent,
};
use crate::schema::{self, BoolEnum, GapReason, ReconnectReason, StreamKind};

/// A validated event read from a record (every accessor is infallible; enum fields were checked).
#[derive(Debug, Clone, Copy)]
pub enum EventView<'a> {
    Trade(schema::TradeDecoder<'a>),
    BestBidAsk(schema::BestBidAskDecoder<'a>),
    DepthDiff(schema::DepthDiffDecoder<'a>),
    DepthSnapshot(schema::DepthSnapshotDecoder<'a>),
    StreamGap(schema::StreamGapDecoder<'a>),
    Reconnected(schema::ReconnectedDecoder<'a>),
}

/// An event with owned data (tests, replay tools, the simulator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedEvent {
    Trade {
        meta: EventMeta,
        symbol: String,
        event_time_us: i64,
        trade_time_us: i64,
        price_exponent: i8,
        qty_exponent: i8,
        fills: Vec<Fill>,
    },
    BestBidAsk {
        symbol: String,
        event: BestBidAskEvent<'static>,
    },
    DepthDiff {
        meta: EventMeta,
        symbol: String,
        event_time_us: i64,
        first_update_id: i64,
        last_update_id: i64,
        price_exponent: i8,
        qty_exponent: i8,
        bids: Vec<PriceLevel>,
        asks: Vec<PriceLevel>,
    },
    DepthSnapshot {
        meta: EventMeta,
        symbol: String,
        exchange_time_us: Option<i64>,
        last_update_id: i64,
        price_exponent: i8,
        qty_exponent: i8,
        bids: Vec<PriceLevel>,
        asks: Vec<PriceLevel>,
    },
    StreamGap {
        symbol: String,
        event: StreamGapEvent<'static>,
    },
    Reconnected {
        symbol: String,
        event: ReconnectedEvent<'static>,
    },
}

impl<'a> EventView<'a> {
    /// Connection epoch and ingest time.
    pub fn meta(&self) -> EventMeta {
        let (ingest_time_ns, connection_epoch) = match self {
            Self::Trade(d) => (d.ingest_time_ns(), d.connection_epoch()),
            Self::BestBidAsk(d) => (d.ingest_time_ns(), d.connection_epoch()),
            Self::DepthDiff(d) => (d.ingest_time_ns(), d.connection_epoch()),
            Self::DepthSnapshot(d) => (d.ingest_time_ns(), d.connection_epoch()),
            Self::StreamGap(d) => (d.ingest_time_ns(), d.connection_epoch()),
            Self::Reconnected(d) => (d.ingest_time_ns(), d.connection_epoch()),
        };
        EventMeta {
            ingest_time_ns,
            connection_epoch,
        }
    }

    pub fn symbol(&self) -> &'a str {
        match self {
            Self::Trade(d) => d.symbol(),
            Self::BestBidAsk(d) => d.symbol(),
            Self::DepthDiff(d) => d.symbol(),
            Self::DepthSnapshot(d) => d.symbol(),
            Self::StreamGap(d) => d.symbol(),
            Self::Reconnected(d) => d.symbol(),
        }
    }

    /// A bounded label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Trade(_) => "trade",
            Self::BestBidAsk(_) => "best_bid_ask",
            Self::DepthDiff(_) => "depth_diff",
            Self::DepthSnapshot(_) => "depth_snapshot",
            Self::StreamGap(_) => "stream_gap",
            Self::Reconnected(_) => "reconnected",
        }
    }

    /// Copies the event out of the record.
    pub fn to_owned_event(&self) -> OwnedEvent {
        let meta = self.meta();
        let symbol = self.symbol().to_owned();
        let level = |price, qty| PriceLevel { price, qty };
        match self {
            Self::Trade(d) => OwnedEvent::Trade {
                meta,
                symbol,
                event_time_us: d.event_time_us(),
                trade_time_us: d.trade_time_us(),
                price_exponent: d.price_exponent(),
                qty_exponent: d.qty_exponent(),
                fills: d
                    .fills()
                    .map(|f| Fill {
                        trade_id: f.trade_id(),
                        price: f.price(),
                        qty: f.qty(),
                        is_buyer_maker: f.is_buyer_maker_raw() == BoolEnum::True.raw(),
                    })
                    .collect(),
            },
            Self::BestBidAsk(d) => OwnedEvent::BestBidAsk {
                symbol,
                event: BestBidAskEvent {
                    meta,
                    symbol: "",
                    event_time_us: d.event_time_us(),
                    book_update_id: d.book_update_id(),
                    price_exponent: d.price_exponent(),
                    qty_exponent: d.qty_exponent(),
                    bid_price: d.bid_price(),
                    bid_qty: d.bid_qty(),
                    ask_price: d.ask_price(),
                    ask_qty: d.ask_qty(),
                },
            },
            Self::DepthDiff(d) => OwnedEvent::DepthDiff {
                meta,
                symbol,
                event_time_us: d.event_time_us(),
                first_update_id: d.first_update_id(),
                last_update_id: d.last_update_id(),
                price_exponent: d.price_exponent(),
                qty_exponent: d.qty_exponent(),
                bids: d.bids().map(|l| level(l.price(), l.qty())).collect(),
                asks: d.asks().map(|l| level(l.price(), l.qty())).collect(),
            },
            Self::DepthSnapshot(d) => OwnedEvent::DepthSnapshot {
                meta,
                symbol,
                exchange_time_us: d.exchange_time_us(),
                last_update_id: d.last_update_id(),
                price_exponent: d.price_exponent(),
                qty_exponent: d.qty_exponent(),
                bids: d.bids().map(|l| level(l.price(), l.qty())).collect(),
                asks: d.asks().map(|l| level(l.price(), l.qty())).collect(),
            },
            Self::StreamGap(d) => OwnedEvent::StreamGap {
                symbol,
                event: StreamGapEvent {
                    meta,
                    symbol: "",
                    stream: d.stream().unwrap_or(StreamKind::All),
                    reason: d.reason().unwrap_or(GapReason::DecodeError),
                    last_good_update_id: d.last_good_update_id(),
                    received_update_id: d.received_update_id(),
                    event_time_us: d.event_time_us(),
                },
            },
            Self::Reconnected(d) => OwnedEvent::Reconnected {
                symbol,
                event: ReconnectedEvent {
                    meta,
                    symbol: "",
                    previous_epoch: d.previous_epoch(),
                    reason: d.reason().unwrap_or(ReconnectReason::ConnectionError),
                    downtime_ns: d.downtime_ns(),
                },
            },
        }
    }
}

impl OwnedEvent {
    /// The borrowed form, to push into a [`crate::RecordBuilder`].
    pub fn as_event(&self) -> Event<'_> {
        match self {
            Self::Trade {
                meta,
                symbol,
                event_time_us,
                trade_time_us,
                price_exponent,
                qty_exponent,
                fills,
            } => Event::Trade(TradeEvent {
                meta: *meta,
                symbol,
                event_time_us: *event_time_us,
                trade_time_us: *trade_time_us,
                price_exponent: *price_exponent,
                qty_exponent: *qty_exponent,
                fills,
            }),
            Self::BestBidAsk { symbol, event } => Event::BestBidAsk(BestBidAskEvent { symbol, ..*event }),
            Self::DepthDiff {
                meta,
                symbol,
                event_time_us,
                first_update_id,
                last_update_id,
                price_exponent,
                qty_exponent,
                bids,
                asks,
            } => Event::DepthDiff(DepthDiffEvent {
                meta: *meta,
                symbol,
                event_time_us: *event_time_us,
                first_update_id: *first_update_id,
                last_update_id: *last_update_id,
                price_exponent: *price_exponent,
                qty_exponent: *qty_exponent,
                bids,
                asks,
            }),
            Self::DepthSnapshot {
                meta,
                symbol,
                exchange_time_us,
                last_update_id,
                price_exponent,
                qty_exponent,
                bids,
                asks,
            } => Event::DepthSnapshot(DepthSnapshotEvent {
                meta: *meta,
                symbol,
                exchange_time_us: *exchange_time_us,
                last_update_id: *last_update_id,
                price_exponent: *price_exponent,
                qty_exponent: *qty_exponent,
                bids,
                asks,
            }),
            Self::StreamGap { symbol, event } => Event::StreamGap(StreamGapEvent { symbol, ..*event }),
            Self::Reconnected { symbol, event } => Event::Reconnected(ReconnectedEvent { symbol, ..*event }),
        }
    }
}
