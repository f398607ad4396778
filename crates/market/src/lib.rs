//! Pure order-book core (no I/O, no async): exact integer ticks/lots, Binance diff-depth sequencing rules,
//! and the re-anchor state machine the aggregator drives.
//!
//! * [`OrderBook`] — price levels in `i64` ticks / lots; sorted-`Vec` layout by default
//!   ([`ladder`] explains the layout choice).
//! * [`sequence`] — the Binance `U`/`u` rules as pure functions.
//! * [`BookSync`] — synced / buffering / failed, anchor epochs, bounded buffer, fail closed.
//! * `recording` (cargo feature) — parser for recorded Binance JSON combined streams.

pub mod book;
pub mod events;
pub mod ladder;
#[cfg(feature = "recording")]
pub mod recording;
pub mod scale;
pub mod sequence;
pub mod sync;

pub use book::{DEFAULT_MAX_LEVELS_PER_SIDE, OrderBook, TopOfBook};
pub use events::{BestBidAsk, DepthDiff, DepthSnapshot, Level, Side, Trade};
pub use ladder::{BTreeLadder, Ladder, VecLadder};
pub use scale::{DecimalError, InstrumentScale, Lots, Ticks};
pub use sync::{
    BookSync, GapReason, IgnoreReason, ReanchorReport, RejectReason, SyncConfig, SyncOutcome, SyncState,
};
