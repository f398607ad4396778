//! Kinesis record = `RecordEnvelope` message whose `events` var data holds `eventCount` frames of
//! `u32 length` + one event message. The length prefix lets a reader skip events it cannot decode
//! (e.g. a template added by a newer producer) without losing the rest of the batch.

use crate::schema::{self, Message, record_envelope};
use crate::{DecodeError, EncodeError, Event, EventView};
use sbe_codegen::rt;

/// Kinesis' per-record limit (data + partition key) is 1 MiB; 256 bytes are left for the key.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024 - 256;

/// Offsets inside the envelope (checked by tests against the generated decoder).
const EVENT_COUNT_AT: usize = rt::HEADER_LEN + 16;
const EVENTS_LEN_AT: usize = rt::HEADER_LEN + record_envelope::BLOCK_LENGTH as usize;
const EVENTS_AT: usize = EVENTS_LEN_AT + 4;

/// Why an event was not appended. The record is unchanged in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The record holds events and this one would take it past the limit: send it and start a new one.
    #[error("record full: {size} bytes would exceed the {limit}-byte limit")]
    RecordFull { size: usize, limit: usize },
    /// Even an otherwise empty record cannot hold this event.
    #[error("event of {size} bytes cannot fit in a {limit}-byte record")]
    EventTooLarge { size: usize, limit: usize },
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

impl BuildError {
    /// A short, bounded label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::RecordFull { .. } => "record_full",
            Self::EventTooLarge { .. } => "event_too_large",
            Self::Encode(e) => e.kind(),
        }
    }
}

/// Builds one record. The bytes are a valid record after every successful [`RecordBuilder::push`].
#[derive(Debug, Clone)]
pub struct RecordBuilder {
    buf: Vec<u8>,
    limit: usize,
    count: u32,
}

impl RecordBuilder {
    /// An empty record from `producer_id` with sequence `batch_sequence`, refusing to grow past
    /// `limit` bytes (use [`MAX_RECORD_BYTES`] for Kinesis).
    pub fn new(producer_id: u64, batch_sequence: u64, created_time_ns: i64, limit: usize) -> Self {
        let mut b = Self {
            buf: Vec::with_capacity(limit.min(64 * 1024)),
            limit,
            count: 0,
        };
        b.reset(producer_id, batch_sequence, created_time_ns);
        b
    }

    /// Empties the record for reuse (the allocation is kept).
    pub fn reset(&mut self, producer_id: u64, batch_sequence: u64, created_time_ns: i64) {
        self.buf.clear();
        self.count = 0;
        let mut enc = schema::RecordEnvelopeEncoder::new(&mut self.buf);
        enc.producer_id(producer_id)
            .batch_sequence(batch_sequence)
            .event_count(0)
            .created_time_ns(created_time_ns);
        let _ = enc.finish(); // writes an empty `events` section
    }

    /// Appends an event, or refuses (leaving the record unchanged) when it would exceed the limit.
    pub fn push(&mut self, event: &Event<'_>) -> Result<(), BuildError> {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        let size = match event.encode(&mut self.buf) {
            Ok(n) => n,
            Err(e) => {
                self.buf.truncate(start);
                return Err(e.into());
            }
        };
        if self.buf.len() > self.limit {
            let total = self.buf.len();
            self.buf.truncate(start);
            return Err(if self.count == 0 {
                BuildError::EventTooLarge {
                    size: total,
                    limit: self.limit,
                }
            } else {
                BuildError::RecordFull {
                    size: total,
                    limit: self.limit,
                }
            });
        }
        rt::put_u32(&mut self.buf, start, size as u32);
        self.count += 1;
        let events_len = (self.buf.len() - EVENTS_AT) as u32;
        rt::put_u32(&mut self.buf, EVENT_COUNT_AT, self.count);
        rt::put_u32(&mut self.buf, EVENTS_LEN_AT, events_len);
        Ok(())
    }

    /// Appends one event already encoded by [`Event::encode`] (a complete event message, header
    /// included), or refuses like [`RecordBuilder::push`] (record unchanged). Lets a producer encode
    /// each event once, queue the bytes, and aggregate them into records later. The bytes are not
    /// decoded again; only their length and schema id are checked (`Encode` is never returned).
    pub fn push_encoded(&mut self, event: &[u8]) -> Result<(), BuildError> {
        let total = self.buf.len() + 4 + event.len();
        if total > self.limit {
            return Err(if self.count == 0 {
                BuildError::EventTooLarge {
                    size: total,
                    limit: self.limit,
                }
            } else {
                BuildError::RecordFull {
                    size: total,
                    limit: self.limit,
                }
            });
        }
        debug_assert!(
            event.len() >= rt::HEADER_LEN && rt::get_u16(event, 4) == schema::SCHEMA_ID,
            "push_encoded expects one pipeline-events message"
        );
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        rt::put_u32(&mut self.buf, start, event.len() as u32);
        self.buf.extend_from_slice(event);
        self.count += 1;
        let events_len = (self.buf.len() - EVENTS_AT) as u32;
        rt::put_u32(&mut self.buf, EVENT_COUNT_AT, self.count);
        rt::put_u32(&mut self.buf, EVENTS_LEN_AT, events_len);
        Ok(())
    }

    /// Bytes of the record so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when no event was appended.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn event_count(&self) -> u32 {
        self.count
    }

    /// Bytes still available under the limit.
    pub fn remaining(&self) -> usize {
        self.limit.saturating_sub(self.buf.len())
    }

    /// The record as it stands (always a complete, valid record).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Takes the record bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads a record: envelope fields, then an iterator of events.
#[derive(Debug, Clone, Copy)]
pub struct RecordReader<'a> {
    envelope: schema::RecordEnvelopeDecoder<'a>,
}

impl<'a> RecordReader<'a> {
    /// Validates the envelope (schema id, version, template, lengths).
    pub fn new(buf: &'a [u8]) -> Result<Self, DecodeError> {
        Ok(Self {
            envelope: schema::RecordEnvelopeDecoder::wrap(buf)?,
        })
    }

    /// Schema version the producer wrote.
    pub fn schema_version(&self) -> u16 {
        self.envelope.header().version
    }
    pub fn producer_id(&self) -> u64 {
        self.envelope.producer_id()
    }
    pub fn batch_sequence(&self) -> u64 {
        self.envelope.batch_sequence()
    }
    pub fn event_count(&self) -> u32 {
        self.envelope.event_count()
    }
    pub fn created_time_ns(&self) -> i64 {
        self.envelope.created_time_ns()
    }

    /// The events, each decoded and validated. A bad event yields an `Err` and iteration goes on
    /// with the next one; a broken length prefix ends iteration after its `Err`. A count that
    /// differs from the envelope's `eventCount` yields a final `CountMismatch`.
    pub fn events(&self) -> EventIter<'a> {
        EventIter {
            rest: self.envelope.events(),
            declared: self.event_count(),
            seen: 0,
            done: false,
        }
    }
}

/// Iterator over the events of a record.
#[derive(Debug, Clone)]
pub struct EventIter<'a> {
    rest: &'a [u8],
    declared: u32,
    seen: u32,
    done: bool,
}

impl<'a> EventIter<'a> {
    fn frame(&mut self) -> Result<&'a [u8], DecodeError> {
        rt::ensure(self.rest, 4)?;
        let len = rt::get_u32(self.rest, 0) as usize;
        let frame = self.rest.get(4..4 + len).ok_or(DecodeError::Truncated {
            need: 4 + len,
            have: self.rest.len(),
        })?;
        self.rest = self.rest.get(4 + len..).unwrap_or_default();
        Ok(frame)
    }
}

impl<'a> Iterator for EventIter<'a> {
    type Item = Result<EventView<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.rest.is_empty() {
            self.done = true;
            return (self.seen != self.declared).then_some(Err(DecodeError::CountMismatch {
                context: "record events",
                declared: self.declared,
                found: self.seen,
            }));
        }
        let frame = match self.frame() {
            Ok(f) => f,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        self.seen = self.seen.saturating_add(1);
        Some(match schema::decode(frame) {
            Ok(Message::Trade(d)) => validate_fills(d).map(EventView::Trade),
            Ok(Message::BestBidAsk(d)) => Ok(EventView::BestBidAsk(d)),
            Ok(Message::DepthDiff(d)) => Ok(EventView::DepthDiff(d)),
            Ok(Message::DepthSnapshot(d)) => Ok(EventView::DepthSnapshot(d)),
            Ok(Message::StreamGap(d)) => d.stream().and(d.reason()).map(|_| EventView::StreamGap(d)),
            Ok(Message::Reconnected(d)) => d.reason().map(|_| EventView::Reconnected(d)),
            Ok(Message::RecordEnvelope(_)) => Err(DecodeError::UnknownTemplate {
                template_id: record_envelope::TEMPLATE_ID,
            }),
            Err(e) => Err(e),
        })
    }
}

fn validate_fills(d: schema::TradeDecoder<'_>) -> Result<schema::TradeDecoder<'_>, DecodeError> {
    for f in d.fills() {
        f.is_buyer_maker()?;
    }
    Ok(d)
}
