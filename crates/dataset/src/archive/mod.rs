//! The pipeline's own history: Kinesis records as the Firehose archive writes them to S3, and the local
//! archive `make run` can write in the same format (docs/wire-formats.md §3, "Archive").
//!
//! An archive file is the plain concatenation of record payloads (each one complete pipeline-events
//! `RecordEnvelope`), optionally gzip-compressed (one or more gzip members: Firehose `GZIP`). The envelope is
//! self-delimiting: its length is `8 (SBE header) + blockLength + 4 + eventsLength`, read from the header
//! and from the `u32` length of its last field, the `events` var data. An archive is a file or a directory
//! (read recursively, files in path order, which is time order for Firehose's `YYYY/MM/DD/HH/` prefixes and
//! for [`writer`]'s names; names ending in `.tmp` are files still being written and are skipped).
//!
//! * [`reader`] — files → record payloads (errors name the file and byte offset).
//! * [`writer`] — record payloads → rotating gzip files.
//! * [`feed`] — record payloads → the dataset sampler, with the aggregator's rules (duplicates, gaps).

pub mod feed;
pub mod reader;
pub mod writer;

/// SBE message header length.
pub const HEADER_LEN: usize = 8;
/// Template id of `RecordEnvelope`.
pub const ENVELOPE_TEMPLATE_ID: u16 = 1;
/// Schema id of pipeline events.
pub const SCHEMA_ID: u16 = 100;

/// Why bytes are not the start of a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Not a `RecordEnvelope` of schema 100.
    #[error("not a pipeline-events record (template {template}, schema {schema})")]
    NotARecord {
        /// Template id found.
        template: u16,
        /// Schema id found.
        schema: u16,
    },
    /// The declared length exceeds Kinesis' 1 MiB record limit: corrupt bytes.
    #[error("record length {0} exceeds the 1 MiB Kinesis limit")]
    TooLong(usize),
}

/// From the 8-byte SBE header: how many bytes follow up to and including the `events` length field.
pub fn fixed_part(header: &[u8; HEADER_LEN]) -> Result<usize, FrameError> {
    let block = usize::from(u16::from_le_bytes([header[0], header[1]]));
    let template = u16::from_le_bytes([header[2], header[3]]);
    let schema = u16::from_le_bytes([header[4], header[5]]);
    if template != ENVELOPE_TEMPLATE_ID || schema != SCHEMA_ID {
        return Err(FrameError::NotARecord { template, schema });
    }
    Ok(block + 4)
}

/// Total record length given the events length (the `u32` at the end of the fixed part).
pub fn record_len(fixed: usize, events_len: u32) -> Result<usize, FrameError> {
    let total = HEADER_LEN + fixed + events_len as usize;
    if total > 1024 * 1024 {
        return Err(FrameError::TooLong(total));
    }
    Ok(total)
}

/// Splits an in-memory concatenation of records (tests and small archives).
pub fn split(mut buf: &[u8]) -> Result<Vec<&[u8]>, (usize, String)> {
    let mut out = Vec::new();
    let mut offset = 0;
    while !buf.is_empty() {
        let err = |r: String| (offset, r);
        let header: &[u8; HEADER_LEN] = buf
            .get(..HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| err("truncated record header".into()))?;
        let fixed = fixed_part(header).map_err(|e| err(e.to_string()))?;
        let len_at = HEADER_LEN + fixed - 4;
        let events_len = buf
            .get(len_at..len_at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| err("truncated record".into()))?;
        let total = record_len(fixed, events_len).map_err(|e| err(e.to_string()))?;
        let record = buf.get(..total).ok_or_else(|| err("truncated record".into()))?;
        out.push(record);
        buf = &buf[total..];
        offset += total;
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
