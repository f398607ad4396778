//! The pipeline's own SBE wire format for Kinesis records (schema id 100, version 1).
//!
//! The ingestor normalises Binance frames into [`Event`]s and batches them with a
//! [`RecordBuilder`] (KPL-style aggregation, at most [`MAX_RECORD_BYTES`] per record); the
//! aggregator reads records with a [`RecordReader`], whose iterator yields validated
//! [`EventView`]s (zero-copy) or typed [`DecodeError`]s (with a bounded `kind()` for metrics).
//!
//! ```text
//! record = RecordEnvelope message (template 1):
//!            producerId u64 · batchSequence u64 · eventCount u32 · createdTimeNs i64
//!            events: u32 length + eventCount × (u32 frameLength + event message)
//! event  = Trade 10 · BestBidAsk 11 · DepthDiff 12 · DepthSnapshot 13 · StreamGap 20 · Reconnected 21
//!          each with exchange time(s) in µs, ingest receive time in ns, connection epoch and the
//!          source sequence ids (trade ids, book update ids)
//! ```
//!
//! # Versioning rule
//! - A **compatible** change only appends fields at the end of a root or group block, or adds a
//!   new message, and bumps the schema `version`. Decoders accept any version ≥
//!   [`schema::MIN_VERSION`]: they read the fields they know and skip unknown trailing bytes using
//!   the `blockLength` on the wire (root and group entries alike). An event template they do not
//!   know yields `DecodeError::UnknownTemplate` for that event only; the length prefix lets the
//!   reader continue with the next event.
//! - Anything else (removing, reordering or retyping a field, changing a group's encoding) is a
//!   **breaking** change and takes a new schema `id`. Decoders reject an unknown schema id with
//!   `DecodeError::WrongSchemaId` (and a version older than `MIN_VERSION` with
//!   `UnsupportedVersion`), so a consumer never misreads bytes; deploy consumers first.
//!
//! See `docs/wire-formats.md` for the byte layouts.

mod event;
mod record;
mod view;

pub use event::{
    BestBidAskEvent, DepthDiffEvent, DepthSnapshotEvent, Event, EventMeta, Fill, PriceLevel,
    ReconnectedEvent, StreamGapEvent, TradeEvent,
};
pub use record::{BuildError, EventIter, MAX_RECORD_BYTES, RecordBuilder, RecordReader};
pub use sbe_codegen::rt::{Decimal, DecodeError, EncodeError};
pub use schema::{GapReason, ReconnectReason, StreamKind};
pub use view::{EventView, OwnedEvent};

/// Generated codec of `schemas/pipeline-events.xml`.
pub mod schema {
    include!(concat!(env!("OUT_DIR"), "/pipeline_events.rs"));
}
