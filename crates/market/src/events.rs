//! Normalised market events in exact integer units, as the book and the feature engine consume them.
//!
//! Times are exchange event times in microseconds since the Unix epoch. Update ids (`U`/`u`,
//! `lastUpdateId`) are Binance book update ids.

use crate::scale::{Lots, Ticks};

/// Book side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buy side (best = highest price).
    Bid,
    /// Sell side (best = lowest price).
    Ask,
}

/// One price level: absolute quantity at a price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Level {
    /// Price in ticks.
    pub price: Ticks,
    /// Absolute resting quantity in lots (`0` in a diff removes the level).
    pub qty: Lots,
}

impl Level {
    /// A level from ticks and lots.
    pub const fn new(price: Ticks, qty: Lots) -> Self {
        Self { price, qty }
    }
}

/// A depth diff (`@depth` stream): absolute quantities for the levels that changed in `[U, u]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DepthDiff {
    /// First update id in this event (`U`).
    pub first_update_id: u64,
    /// Last update id in this event (`u`).
    pub last_update_id: u64,
    /// Exchange event time (µs).
    pub event_time_us: u64,
    /// Changed bid levels (qty 0 = remove).
    pub bids: Vec<Level>,
    /// Changed ask levels (qty 0 = remove).
    pub asks: Vec<Level>,
}

/// A REST depth snapshot (`GET /api/v3/depth`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DepthSnapshot {
    /// `lastUpdateId` of the snapshot.
    pub last_update_id: u64,
    /// Bid levels (any order; zero quantities are ignored).
    pub bids: Vec<Level>,
    /// Ask levels (any order; zero quantities are ignored).
    pub asks: Vec<Level>,
}

/// One trade (`@trade`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Trade {
    /// Exchange event time (µs).
    pub event_time_us: u64,
    /// Trade id.
    pub trade_id: u64,
    /// Price in ticks.
    pub price: Ticks,
    /// Quantity in lots.
    pub qty: Lots,
    /// `true` when the buyer was the resting (maker) side, i.e. the aggressor sold.
    pub is_buyer_maker: bool,
}

/// Best bid / ask (`@bestBidAsk` SBE, `@bookTicker` JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BestBidAsk {
    /// Exchange event time (µs). The JSON spot `bookTicker` has none; callers substitute the latest known
    /// exchange time.
    pub event_time_us: u64,
    /// Book update id (ordering only: the stream is culled, ids are not consecutive).
    pub update_id: u64,
    /// Best bid.
    pub bid: Level,
    /// Best ask.
    pub ask: Level,
}
