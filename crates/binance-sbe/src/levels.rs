//! Price levels of depth messages as exact decimals.

use crate::{Decimal, rest, stream};

/// One book level: absolute quantity at a price (quantity 0 removes the level in a diff).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Level {
    pub price: Decimal,
    pub qty: Decimal,
}

/// A group entry holding a price and a quantity mantissa.
pub trait PriceQty {
    fn price_mantissa(&self) -> i64;
    fn qty_mantissa(&self) -> i64;
}

macro_rules! price_qty {
    ($($t:ty),*) => {$(
        impl PriceQty for $t {
            #[inline]
            fn price_mantissa(&self) -> i64 { self.price() }
            #[inline]
            fn qty_mantissa(&self) -> i64 { self.qty() }
        }
    )*};
}

price_qty!(
    stream::depth_snapshot_stream_event::BidsEntry<'_>,
    stream::depth_snapshot_stream_event::AsksEntry<'_>,
    stream::depth_diff_stream_event::BidsEntry<'_>,
    stream::depth_diff_stream_event::AsksEntry<'_>,
    rest::depth_response::BidsEntry<'_>,
    rest::depth_response::AsksEntry<'_>
);

/// Iterator of [`Level`]s over a depth group, applying the message's exponents.
#[derive(Debug, Clone)]
pub struct LevelIter<I> {
    inner: I,
    price_exponent: i8,
    qty_exponent: i8,
}

impl<I> LevelIter<I> {
    pub(crate) fn new(inner: I, price_exponent: i8, qty_exponent: i8) -> Self {
        Self {
            inner,
            price_exponent,
            qty_exponent,
        }
    }
}

impl<I: Iterator<Item: PriceQty>> Iterator for LevelIter<I> {
    type Item = Level;

    #[inline]
    fn next(&mut self) -> Option<Level> {
        self.inner.next().map(|e| Level {
            price: Decimal::new(e.price_mantissa(), self.price_exponent),
            qty: Decimal::new(e.qty_mantissa(), self.qty_exponent),
        })
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<I: ExactSizeIterator<Item: PriceQty>> ExactSizeIterator for LevelIter<I> {}

macro_rules! book_levels {
    ($($dec:ty => $m:ident),*) => {$(
        impl<'a> $dec {
            /// Bid levels (best first) as exact decimals.
            #[inline]
            pub fn bid_levels(&self) -> LevelIter<$m::BidsIter<'a>> {
                LevelIter::new(self.bids(), self.price_exponent(), self.qty_exponent())
            }
            /// Ask levels (best first) as exact decimals.
            #[inline]
            pub fn ask_levels(&self) -> LevelIter<$m::AsksIter<'a>> {
                LevelIter::new(self.asks(), self.price_exponent(), self.qty_exponent())
            }
        }
    )*};
}

use rest::depth_response;
use stream::{depth_diff_stream_event, depth_snapshot_stream_event};

book_levels!(
    stream::DepthSnapshotStreamEventDecoder<'a> => depth_snapshot_stream_event,
    stream::DepthDiffStreamEventDecoder<'a> => depth_diff_stream_event,
    rest::DepthResponseDecoder<'a> => depth_response
);
