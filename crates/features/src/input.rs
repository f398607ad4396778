//! Inputs of the feature engine, as one enum (for replay, batch recomputation and the dataset builder).

use market::{BestBidAsk, TopOfBook, Trade};

/// One input event. Times are exchange event times in µs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureInput {
    /// Best bid/ask update.
    Bbo(BestBidAsk),
    /// Trade.
    Trade(Trade),
    /// Top-N view of a synced book.
    Book {
        /// Event time of the diff that produced this view.
        time_us: u64,
        /// The view.
        top: TopOfBook,
    },
    /// The book left the synced state.
    BookLost {
        /// When.
        time_us: u64,
    },
    /// Clock advance without market data.
    Clock {
        /// New time.
        time_us: u64,
    },
}
