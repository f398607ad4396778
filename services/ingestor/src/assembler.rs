//! Coalesces pre-encoded pipeline events into Kinesis records (the producer calls this at send
//! time, once per partition key per PutRecords). Each key has its own batch sequence, so a
//! consumer can spot a missing or repeated record; a retried record keeps its bytes.

use crate::metrics::HotMetrics;
use bytes::Bytes;
use kinesis_io::producer::Assembler;
use metrics_schema::labels::{DropReason, Intentional};
use pipeline_events::{BuildError, MAX_RECORD_BYTES, RecordBuilder};
use std::collections::{HashMap, VecDeque};

pub struct RecordAssembler {
    producer_id: u64,
    sequences: HashMap<String, u64>,
    metrics: Option<HotMetrics>,
}

impl RecordAssembler {
    pub fn new(producer_id: u64, metrics: Option<HotMetrics>) -> Self {
        Self {
            producer_id,
            sequences: HashMap::new(),
            metrics,
        }
    }
}

/// Envelope bytes of an empty record plus one event's length prefix: an event longer than
/// `max_record_bytes - this` can never be sent and is dropped (counted) before it is queued.
pub fn record_overhead() -> usize {
    RecordBuilder::new(0, 0, 0, MAX_RECORD_BYTES).len() + 4
}

impl Assembler for RecordAssembler {
    fn assemble(&mut self, key: &str, queue: &mut VecDeque<Bytes>, max_bytes: usize) -> (Bytes, u32) {
        let seq = match self.sequences.get_mut(key) {
            Some(s) => s,
            None => self.sequences.entry(key.to_string()).or_insert(0),
        };
        *seq += 1;
        let mut b = RecordBuilder::new(
            self.producer_id,
            *seq,
            crate::clock::now_ns(),
            max_bytes.min(MAX_RECORD_BYTES),
        );
        let mut taken = 0u32;
        while let Some(ev) = queue.front() {
            match b.push_encoded(ev) {
                Ok(()) => {}
                Err(BuildError::RecordFull { .. }) => break,
                Err(e) => {
                    // Cannot happen for events checked against record_overhead(); never loop on it.
                    tracing::error!(error = %e, "event does not fit in a record; dropped");
                    if let Some(m) = &self.metrics {
                        m.dropped(DropReason::Oversized, Intentional::No);
                    }
                }
            }
            queue.pop_front();
            taken += 1;
        }
        (Bytes::from(b.into_bytes()), taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipeline_events::{Event, EventMeta, GapReason, RecordReader, StreamGapEvent, StreamKind};

    fn gap(id: i64) -> Bytes {
        let mut v = Vec::new();
        Event::StreamGap(StreamGapEvent {
            meta: EventMeta::default(),
            symbol: "BTCUSDT",
            stream: StreamKind::Depth,
            reason: GapReason::SequenceGap,
            last_good_update_id: Some(id),
            received_update_id: None,
            event_time_us: None,
        })
        .encode(&mut v)
        .unwrap();
        Bytes::from(v)
    }

    #[test]
    fn records_take_events_in_order_up_to_the_size_limit_with_rising_batch_sequences() {
        let mut a = RecordAssembler::new(42, None);
        let mut q: VecDeque<Bytes> = (0..10).map(gap).collect();
        let limit = record_overhead() + 3 * (q[0].len() + 4) - 4;
        let (rec, n) = a.assemble("BTCUSDT", &mut q, limit);
        assert_eq!((n, q.len()), (3, 7));
        let r = RecordReader::new(&rec).unwrap();
        assert_eq!((r.producer_id(), r.batch_sequence(), r.event_count()), (42, 1, 3));
        let ids: Vec<_> = r
            .events()
            .map(|e| match e.unwrap().to_owned_event() {
                pipeline_events::OwnedEvent::StreamGap { event, .. } => event.last_good_update_id,
                _ => None,
            })
            .collect();
        assert_eq!(ids, vec![Some(0), Some(1), Some(2)]);
        let (rec2, _) = a.assemble("BTCUSDT", &mut q, limit);
        assert_eq!(RecordReader::new(&rec2).unwrap().batch_sequence(), 2);
        let (rec3, _) = a.assemble("ETHUSDT", &mut q, limit);
        assert_eq!(RecordReader::new(&rec3).unwrap().batch_sequence(), 1, "per key");
    }
}
