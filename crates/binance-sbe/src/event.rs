//! Stream frames (schema 1:0) as one validated enum.

use crate::stream::{self, BoolEnum, Message, trades_stream_event};
use crate::{Decimal, DecodeError};

/// A decoded, fully validated market-data stream frame (zero-copy views into the frame).
#[derive(Debug, Clone, Copy)]
pub enum StreamEvent<'a> {
    /// `<symbol>@trade`
    Trades(stream::TradesStreamEventDecoder<'a>),
    /// `<symbol>@bestBidAsk`
    BestBidAsk(stream::BestBidAskStreamEventDecoder<'a>),
    /// `<symbol>@depth20`
    DepthSnapshot(stream::DepthSnapshotStreamEventDecoder<'a>),
    /// `<symbol>@depth`
    DepthDiff(stream::DepthDiffStreamEventDecoder<'a>),
}

/// Decodes one binary WebSocket frame of the SBE market-data stream.
///
/// Checks schema id (1) and version, dispatches on template id, bounds every group before use and
/// validates enum values, so every accessor of the returned event is infallible.
#[inline]
pub fn decode_stream_frame(buf: &[u8]) -> Result<StreamEvent<'_>, DecodeError> {
    Ok(match stream::decode(buf)? {
        Message::TradesStreamEvent(d) => {
            for t in d.trades() {
                t.is_buyer_maker()?;
            }
            StreamEvent::Trades(d)
        }
        Message::BestBidAskStreamEvent(d) => StreamEvent::BestBidAsk(d),
        Message::DepthSnapshotStreamEvent(d) => StreamEvent::DepthSnapshot(d),
        Message::DepthDiffStreamEvent(d) => StreamEvent::DepthDiff(d),
    })
}

impl<'a> StreamEvent<'a> {
    /// Exchange event time, µs since the Unix epoch.
    pub fn event_time_us(&self) -> i64 {
        match self {
            Self::Trades(d) => d.event_time(),
            Self::BestBidAsk(d) => d.event_time(),
            Self::DepthSnapshot(d) => d.event_time(),
            Self::DepthDiff(d) => d.event_time(),
        }
    }

    /// The symbol, e.g. `BTCUSDT`.
    pub fn symbol(&self) -> &'a str {
        match self {
            Self::Trades(d) => d.symbol(),
            Self::BestBidAsk(d) => d.symbol(),
            Self::DepthSnapshot(d) => d.symbol(),
            Self::DepthDiff(d) => d.symbol(),
        }
    }

    /// A bounded label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Trades(_) => "trade",
            Self::BestBidAsk(_) => "best_bid_ask",
            Self::DepthSnapshot(_) => "depth_snapshot",
            Self::DepthDiff(_) => "depth_diff",
        }
    }
}

/// One trade of a `TradesStreamEvent`, with exact decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trade {
    pub id: i64,
    pub price: Decimal,
    pub qty: Decimal,
    /// Buyer was the maker (the aggressor sold).
    pub is_buyer_maker: bool,
}

/// Iterator of [`Trade`]s.
#[derive(Debug, Clone)]
pub struct TradeIter<'a> {
    inner: trades_stream_event::TradesIter<'a>,
    price_exponent: i8,
    qty_exponent: i8,
}

impl Iterator for TradeIter<'_> {
    type Item = Trade;

    #[inline]
    fn next(&mut self) -> Option<Trade> {
        self.inner.next().map(|e| Trade {
            id: e.id(),
            price: Decimal::new(e.price(), self.price_exponent),
            qty: Decimal::new(e.qty(), self.qty_exponent),
            is_buyer_maker: e.is_buyer_maker_raw() == BoolEnum::True.raw(),
        })
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for TradeIter<'_> {}

impl<'a> stream::TradesStreamEventDecoder<'a> {
    /// The trades with exact decimal price and quantity. (Frames from [`decode_stream_frame`] have
    /// validated `isBuyerMaker` values; on an unvalidated frame an invalid value reads as false.)
    #[inline]
    pub fn trade_list(&self) -> TradeIter<'a> {
        TradeIter {
            inner: self.trades(),
            price_exponent: self.price_exponent(),
            qty_exponent: self.qty_exponent(),
        }
    }
}
