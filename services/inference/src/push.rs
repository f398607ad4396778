//! Features pushed by the aggregator (docs/redis-contract.md, "Pushed snapshot"): the flush script
//! that writes `{S}:features` also `PUBLISH`es the same fields, in the same atomic step, on
//! `{S}:features:push`. This module is the pure part: the payload codec and the choice, at a tick,
//! between the snapshot held in memory and a read. The subscription itself is in
//! [`crate::push_store`].
//!
//! Payload: the flush's `HSET` field/value arguments of `{S}:features`, in order, each as
//! `<decimal byte length>:<bytes>` with nothing in between (`3:fmt1:1…`). The values are the very
//! bytes written to the hash, so a decoded payload is what an `HGETALL` right after that flush
//! returns: the snapshot cannot be torn.

use crate::contract::RawFeatures;
use bytes::Bytes;
use metrics_schema::labels::PushFallback;
use std::time::{Duration, Instant};

/// `{S}:features:push`.
pub fn channel(symbol: &str) -> String {
    format!("{{{symbol}}}:features:push")
}

/// Why a pushed payload was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("pushed features payload: {0} at byte {1}")]
    Framing(&'static str, usize),
    #[error("pushed features payload has a field without a value")]
    OddItems,
    #[error("pushed features payload holds no field")]
    Empty,
    #[error("pushed features payload: compute_time_us {0:?} is not an integer")]
    ComputeTime(String),
}

/// One decoded payload: the hash fields and the flush's `compute_time_us` (the aggregator's clock at
/// the flush, used for the delivery delay).
#[derive(Clone, Debug, PartialEq)]
pub struct Pushed {
    pub raw: RawFeatures,
    pub compute_time_us: i64,
}

/// Splits the length-prefixed items; the values share `payload`'s buffer (no copies).
fn items(payload: &Bytes) -> Result<Vec<Bytes>, PayloadError> {
    let mut out = Vec::with_capacity(32);
    let mut at = 0;
    while at < payload.len() {
        let colon = payload[at..]
            .iter()
            .take(8)
            .position(|b| *b == b':')
            .ok_or(PayloadError::Framing("no length prefix", at))?;
        let len_text = &payload[at..at + colon];
        if len_text.is_empty() || !len_text.iter().all(u8::is_ascii_digit) {
            return Err(PayloadError::Framing("length is not a decimal", at));
        }
        let len: usize = std::str::from_utf8(len_text)
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or(PayloadError::Framing("length is not a decimal", at))?;
        let start = at + colon + 1;
        let end = start
            .checked_add(len)
            .filter(|e| *e <= payload.len())
            .ok_or(PayloadError::Framing("item runs past the end", at))?;
        out.push(payload.slice(start..end));
        at = end;
    }
    Ok(out)
}

/// Decodes a payload into the hash's field slots ([`crate::contract::decode`] then reads it exactly
/// like an `HGETALL` reply).
pub fn decode_payload(payload: &Bytes) -> Result<Pushed, PayloadError> {
    let items = items(payload)?;
    if items.is_empty() {
        return Err(PayloadError::Empty);
    }
    if items.len() % 2 != 0 {
        return Err(PayloadError::OddItems);
    }
    let mut raw = RawFeatures::default();
    let mut compute_time_us = None;
    for kv in items.chunks_exact(2) {
        if kv[0].as_ref() == b"compute_time_us" {
            let text = String::from_utf8_lossy(&kv[1]).into_owned();
            compute_time_us = Some(
                text.trim()
                    .parse::<i64>()
                    .map_err(|_| PayloadError::ComputeTime(text))?,
            );
        }
        raw.insert(&kv[0], kv[1].clone());
    }
    let compute_time_us = compute_time_us.ok_or_else(|| PayloadError::ComputeTime(String::new()))?;
    Ok(Pushed { raw, compute_time_us })
}

/// The payload the flush script publishes for these hash fields (tests and the bench; the
/// aggregator builds it in Lua, `services/aggregator/src/store.rs`).
pub fn encode_payload<'a>(fields: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Bytes {
    let mut out = Vec::with_capacity(512);
    for (k, v) in fields {
        for item in [k.as_bytes(), v] {
            out.extend_from_slice(item.len().to_string().as_bytes());
            out.push(b':');
            out.extend_from_slice(item);
        }
    }
    Bytes::from(out)
}

/// When the snapshot in memory may stand in for a read.
#[derive(Clone, Copy, Debug)]
pub struct PushLimits {
    /// No message for this long: the subscription may be dead without the client knowing (or the
    /// aggregator idle): read. The aggregator flushes at least every `flush.interval_ms` (100 ms)
    /// while anything changes.
    pub max_silence: Duration,
    /// A message delivered this long after its flush (aggregator clock → receipt here, negative
    /// values count as 0) means the subscription lags: read until one arrives in time.
    pub max_delay_us: i64,
}

impl Default for PushLimits {
    fn default() -> Self {
        PushLimits {
            max_silence: Duration::from_secs(1),
            max_delay_us: 250_000,
        }
    }
}

/// The newest pushed snapshot and when it arrived.
#[derive(Clone, Debug)]
pub struct Latest {
    pub raw: RawFeatures,
    pub received: Instant,
    /// Receipt (wall clock) minus the flush's `compute_time_us`, ≥ 0.
    pub delay_us: i64,
}

/// What the subscription holds. `latest` is only ever a message delivered on the current
/// subscription: it is cleared on every reconnect (messages published while disconnected are lost,
/// so an older one would be older than the hash).
#[derive(Debug, Default)]
pub struct Slot {
    pub latest: Option<Latest>,
    /// SUBSCRIBE acknowledged on the current connection.
    pub subscribed: bool,
}

impl Slot {
    /// A new connection (or lost messages): nothing in memory is known to be current any more.
    pub fn invalidate(&mut self) {
        self.latest = None;
    }

    /// Serve the tick from memory, or say why it must read.
    pub fn choose(
        &self,
        connected: bool,
        now: Instant,
        limits: &PushLimits,
    ) -> Result<&RawFeatures, PushFallback> {
        if !connected || !self.subscribed {
            return Err(PushFallback::Disconnected);
        }
        let Some(l) = &self.latest else {
            return Err(PushFallback::NoSnapshot);
        };
        if now.saturating_duration_since(l.received) > limits.max_silence {
            return Err(PushFallback::Silent);
        }
        if l.delay_us > limits.max_delay_us {
            return Err(PushFallback::Lagging);
        }
        Ok(&l.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{decode, encode, synced_snapshot};

    fn payload_of(snap: &crate::contract::FeatureSnapshot) -> Bytes {
        let fields = encode(snap);
        encode_payload(fields.iter().map(|(k, v)| (*k, v.as_slice())))
    }

    #[test]
    fn payload_decodes_to_the_snapshot_that_was_encoded() {
        let mut snap = synced_snapshot(61_602.015, 1_700_000_000_000_000);
        // Value bytes that contain the framing characters must not confuse the decoder.
        snap.values[1] = f64::from_le_bytes(*b"12:ab:3:");
        let p = decode_payload(&payload_of(&snap)).unwrap();
        assert_eq!(p.compute_time_us, 1_700_000_000_000_000);
        assert_eq!(decode(&p.raw), Ok(snap));
    }

    #[test]
    fn malformed_payloads_are_named_errors() {
        let good = payload_of(&synced_snapshot(1.0, 5));
        let cut = good.slice(..good.len() - 1);
        assert!(matches!(
            decode_payload(&cut),
            Err(PayloadError::Framing("item runs past the end", _))
        ));
        assert_eq!(decode_payload(&Bytes::new()), Err(PayloadError::Empty));
        assert!(matches!(
            decode_payload(&Bytes::from_static(b"x:fmt")),
            Err(PayloadError::Framing("length is not a decimal", 0))
        ));
        assert!(matches!(
            decode_payload(&Bytes::from_static(b"123456789")),
            Err(PayloadError::Framing("no length prefix", 0))
        ));
        assert_eq!(
            decode_payload(&Bytes::from_static(b"3:fmt")),
            Err(PayloadError::OddItems)
        );
        assert_eq!(
            decode_payload(&Bytes::from_static(b"3:fmt1:1")),
            Err(PayloadError::ComputeTime(String::new()))
        );
        assert!(matches!(
            decode_payload(&encode_payload([("compute_time_us", b"soon".as_slice())])),
            Err(PayloadError::ComputeTime(t)) if t == "soon"
        ));
    }

    fn latest(age: Duration, delay_us: i64, now: Instant) -> Latest {
        Latest {
            raw: RawFeatures::default(),
            received: now - age,
            delay_us,
        }
    }

    #[test]
    fn memory_serves_only_a_subscribed_recent_timely_snapshot() {
        let now = Instant::now() + Duration::from_secs(10);
        let limits = PushLimits::default();
        let mut slot = Slot::default();
        assert_eq!(
            slot.choose(true, now, &limits).err(),
            Some(PushFallback::Disconnected)
        );
        slot.subscribed = true;
        assert_eq!(
            slot.choose(true, now, &limits).err(),
            Some(PushFallback::NoSnapshot)
        );
        slot.latest = Some(latest(Duration::from_millis(50), 400, now));
        assert!(slot.choose(true, now, &limits).is_ok());
        assert_eq!(
            slot.choose(false, now, &limits).err(),
            Some(PushFallback::Disconnected)
        );
        slot.latest = Some(latest(Duration::from_millis(1_001), 400, now));
        assert_eq!(slot.choose(true, now, &limits).err(), Some(PushFallback::Silent));
        slot.latest = Some(latest(Duration::from_millis(5), 250_001, now));
        assert_eq!(slot.choose(true, now, &limits).err(), Some(PushFallback::Lagging));
        slot.latest = Some(latest(Duration::from_millis(5), 0, now));
        slot.invalidate();
        assert_eq!(
            slot.choose(true, now, &limits).err(),
            Some(PushFallback::NoSnapshot)
        );
    }
}
