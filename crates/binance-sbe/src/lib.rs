//! Binance spot SBE codecs, generated at build time by `sbe-codegen` from the project's own schema
//! files (`schemas/`), plus a small ergonomic layer:
//!
//! - [`decode_stream_frame`]: one WebSocket binary frame (schema 1:0) → [`StreamEvent`], fully
//!   validated (header, block lengths, group bounds, UTF-8 symbol, enum values). Zero-copy, no
//!   allocation, never panics.
//! - [`decode_rest_response`]: a REST SBE body (schema 3, versions 2–5) → [`RestResponse`]
//!   (`DepthResponse` or `ErrorResponse`).
//! - [`json_to_sbe`]: a Binance JSON event as recorded (trade, bookTicker, depthUpdate, REST depth
//!   snapshot; raw or in a combined-stream envelope) → the equivalent SBE frame, with decimal
//!   strings converted exactly (no float rounding). Used by the exchange simulator and tests.
//!
//! Decimals are [`Decimal`] (`i64` mantissa, `i8` exponent); use [`Decimal::to_ticks`] for integer
//! ticks and [`Decimal::to_f64`] only at feature time. Errors are [`DecodeError`] with a bounded
//! [`DecodeError::kind`] for metric labels.
//!
//! The generated modules [`stream`] and [`rest`] expose every message's `Decoder` (flyweight) and
//! `Encoder`; see `docs/wire-formats.md` for layouts.

mod event;
mod json;
mod levels;
mod response;

pub use event::{StreamEvent, Trade, TradeIter, decode_stream_frame};
pub use json::{ConvertError, JsonContext, JsonKind, TimeUnit, json_to_sbe};
pub use levels::{Level, LevelIter};
pub use response::{RestResponse, decode_rest_response};
pub use sbe_codegen::rt::{Decimal, DecimalError, DecodeError, EncodeError, MessageHeader};

/// Generated codec of the stream schema (id 1, version 0).
pub mod stream {
    include!(concat!(env!("OUT_DIR"), "/spot_stream.rs"));
}

/// Generated codec of the REST schema subset (id 3, version 5: ErrorResponse, DepthResponse).
pub mod rest {
    include!(concat!(env!("OUT_DIR"), "/spot_rest.rs"));
}
