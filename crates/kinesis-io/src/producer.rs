//! Ordered, batching Kinesis producer.
//!
//! Events are buffered per partition key and coalesced into records *at send time* by an
//! [`Assembler`] (KPL-style aggregation, ≤ 1 MiB), so a backlog drains in large records. Each
//! PutRecords request carries at most one record per partition key, and a key's next record is
//! only built after the previous one was accepted: a partial failure can never reorder a key's
//! stream. Failed records are retried as-is (same bytes) with jittered backoff. The input channel
//! is bounded; when the buffer is full the producer stops reading it and senders feel backpressure.

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use bytes::Bytes;
use metrics_schema::IngestorMetrics;
use metrics_schema::labels::KinesisError;
use metrics_schema::services::ingestor::KinesisErrorLabels;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use svc_kit::backoff::Backoff;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Builds one record from the front of a key's queue.
pub trait Assembler: Send + 'static {
    /// Move events from the front of `queue` into one record of at most `max_bytes` and return
    /// its data and event count. Must take at least one event when the queue is not empty.
    fn assemble(&mut self, key: &str, queue: &mut VecDeque<Bytes>, max_bytes: usize) -> (Bytes, u32);
}

#[derive(Clone, Debug)]
pub struct ProducerConfig {
    pub stream_name: String,
    pub max_record_bytes: usize,
    pub linger: Duration,
    pub max_buffered_events: usize,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            stream_name: "market-events".into(),
            max_record_bytes: 1024 * 1024 - 1024,
            linger: Duration::from_millis(50),
            max_buffered_events: 200_000,
            backoff_base: Duration::from_millis(50),
            backoff_max: Duration::from_secs(5),
        }
    }
}

/// An event on its way to Kinesis.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub partition_key: Arc<str>,
    pub data: Bytes,
}

#[derive(Default)]
struct KeyState {
    queue: VecDeque<Bytes>,
    oldest: Option<Instant>,
    queued_bytes: usize,
    /// A record already built (and maybe already tried) that must go before anything else.
    retry: Option<(Bytes, u32)>,
}

/// What a finished run reports (for shutdown logs and tests).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ProducerStats {
    pub records_sent: u64,
    pub events_sent: u64,
    pub events_unsent: u64,
}

pub struct Producer<A: Assembler> {
    client: Client,
    cfg: ProducerConfig,
    assembler: A,
    metrics: IngestorMetrics,
    keys: BTreeMap<Arc<str>, KeyState>,
    buffered: usize,
    stats: ProducerStats,
}

impl<A: Assembler> Producer<A> {
    pub fn new(client: Client, cfg: ProducerConfig, assembler: A, metrics: IngestorMetrics) -> Self {
        Producer {
            client,
            cfg,
            assembler,
            metrics,
            keys: BTreeMap::new(),
            buffered: 0,
            stats: ProducerStats::default(),
        }
    }

    /// Run until `shutdown`; then flush what is buffered within `drain` and return.
    pub async fn run(
        mut self,
        mut rx: mpsc::Receiver<Outgoing>,
        shutdown: CancellationToken,
        drain: Duration,
    ) -> ProducerStats {
        let mut backoff = Backoff::new(self.cfg.backoff_base, self.cfg.backoff_max);
        let mut retry_at: Option<Instant> = None;
        let mut input_open = true;
        loop {
            if !input_open && self.buffered == 0 {
                break;
            }
            let due = self.next_due(retry_at);
            let room = self.buffered < self.cfg.max_buffered_events;
            tokio::select! {
                _ = shutdown.cancelled() => break,
                ev = rx.recv(), if input_open && room => match ev {
                    Some(ev) => self.push(ev),
                    None => input_open = false,
                },
                _ = sleep_until(due) => {}
            }
            if retry_at.is_some_and(|t| Instant::now() < t) || !self.any_ready(false) {
                continue;
            }
            retry_at = match self.send_once(false).await {
                Ok(()) => {
                    backoff.reset();
                    None
                }
                Err(()) => Some(Instant::now() + backoff.next_delay()),
            };
        }
        // Drain: take what is already queued, send everything ready regardless of linger.
        while let Ok(ev) = rx.try_recv() {
            self.push(ev);
        }
        let deadline = Instant::now() + drain;
        while self.buffered > 0 && Instant::now() < deadline {
            if self.send_once(true).await.is_err() {
                tokio::time::sleep(
                    backoff
                        .next_delay()
                        .min(deadline.saturating_duration_since(Instant::now())),
                )
                .await;
            }
        }
        self.stats.events_unsent = self.buffered as u64;
        self.stats.clone()
    }

    fn push(&mut self, ev: Outgoing) {
        let st = self.keys.entry(ev.partition_key).or_default();
        st.oldest.get_or_insert_with(Instant::now);
        st.queued_bytes += ev.data.len();
        st.queue.push_back(ev.data);
        self.buffered += 1;
        self.metrics.buffer_depth.set(self.buffered as f64);
    }

    /// A key is ready when it has a retry record, a full record's worth, or lingered long enough.
    fn any_ready(&self, flush_all: bool) -> bool {
        self.keys.values().any(|st| self.key_ready(st, flush_all))
    }

    fn key_ready(&self, st: &KeyState, flush_all: bool) -> bool {
        st.retry.is_some()
            || (!st.queue.is_empty()
                && (flush_all
                    || st.queued_bytes >= self.cfg.max_record_bytes
                    || st.oldest.is_some_and(|t| t.elapsed() >= self.cfg.linger)))
    }

    fn next_due(&self, retry_at: Option<Instant>) -> Instant {
        let linger = self
            .keys
            .values()
            .filter_map(|st| st.oldest)
            .min()
            .map(|t| t + self.cfg.linger);
        match (linger, retry_at) {
            (Some(l), Some(r)) => l.max(r),
            (Some(l), None) => l,
            (None, Some(r)) => r,
            (None, None) => Instant::now() + Duration::from_secs(3600),
        }
    }

    /// One PutRecords with at most one record per ready key. Err when the request itself failed
    /// or any record was rejected (the caller backs off).
    async fn send_once(&mut self, flush_all: bool) -> Result<(), ()> {
        let mut batch: Vec<(Arc<str>, Bytes, u32)> = Vec::new();
        let mut request_bytes = 0usize;
        let max_record = self.cfg.max_record_bytes;
        let ready: Vec<Arc<str>> = self
            .keys
            .iter()
            .filter(|(_, st)| self.key_ready(st, flush_all))
            .map(|(k, _)| k.clone())
            .collect();
        for key in ready {
            if batch.len() >= 500 || request_bytes + max_record > 5 * 1024 * 1024 {
                break;
            }
            let Some(st) = self.keys.get_mut(&key) else {
                continue;
            };
            let (data, n) = match st.retry.take() {
                Some(r) => r,
                None => {
                    let before = st.queue.len();
                    let (data, n) = self.assembler.assemble(&key, &mut st.queue, max_record);
                    let taken = before - st.queue.len();
                    st.queued_bytes = st.queue.iter().map(Bytes::len).sum();
                    st.oldest = if st.queue.is_empty() {
                        None
                    } else {
                        Some(Instant::now())
                    };
                    debug_assert_eq!(taken as u32, n);
                    (data, n)
                }
            };
            request_bytes += data.len() + key.len();
            batch.push((key, data, n));
        }
        if batch.is_empty() {
            return Ok(());
        }
        let entries: Vec<PutRecordsRequestEntry> = batch
            .iter()
            .filter_map(|(k, d, _)| {
                PutRecordsRequestEntry::builder()
                    .partition_key(k.as_ref())
                    .data(Blob::new(d.to_vec()))
                    .build()
                    .ok()
            })
            .collect();
        let started = Instant::now();
        let result = self
            .client
            .put_records()
            .stream_name(&self.cfg.stream_name)
            .set_records(Some(entries))
            .send()
            .await;
        self.metrics
            .kinesis_put_duration
            .observe(started.elapsed().as_secs_f64());
        match result {
            Ok(out) => {
                let mut all_ok = true;
                for ((key, data, n), rec) in batch.into_iter().zip(out.records()) {
                    match rec.error_code() {
                        None => self.accepted(&data, n),
                        Some(code) => {
                            all_ok = false;
                            self.metrics
                                .kinesis_failed_records
                                .get_or_create(&KinesisErrorLabels {
                                    error_type: classify(code),
                                })
                                .inc();
                            self.requeue(key, data, n);
                        }
                    }
                }
                if all_ok { Ok(()) } else { Err(()) }
            }
            Err(e) => {
                tracing::warn!(error = %aws_sdk_kinesis::error::DisplayErrorContext(&e), records = batch.len(), "PutRecords failed; will retry");
                for (key, data, n) in batch {
                    self.metrics
                        .kinesis_failed_records
                        .get_or_create(&KinesisErrorLabels {
                            error_type: KinesisError::Request,
                        })
                        .inc();
                    self.requeue(key, data, n);
                }
                Err(())
            }
        }
    }

    fn accepted(&mut self, data: &Bytes, events: u32) {
        self.metrics.kinesis_records_sent.inc();
        self.metrics.kinesis_bytes_sent.inc_by(data.len() as u64);
        self.metrics.kinesis_batch_events.observe(f64::from(events));
        self.buffered = self.buffered.saturating_sub(events as usize);
        self.metrics.buffer_depth.set(self.buffered as f64);
        self.stats.records_sent += 1;
        self.stats.events_sent += u64::from(events);
    }

    fn requeue(&mut self, key: Arc<str>, data: Bytes, events: u32) {
        self.keys.entry(key).or_default().retry = Some((data, events));
    }
}

fn classify(code: &str) -> KinesisError {
    match code {
        "ProvisionedThroughputExceededException" => KinesisError::Throughput,
        c if c.starts_with("KMS") => KinesisError::Kms,
        _ => KinesisError::Internal,
    }
}

async fn sleep_until(t: Instant) {
    tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await;
}
