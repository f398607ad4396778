//! Polling shard consumer (GetRecords), one task per shard.
//!
//! * Lists the stream's shards (paginated) and re-lists every `shard_refresh` to find children after
//!   a reshard, and at once when a shard ends (its children start without waiting a refresh). A child starts only after its parent(s) were read to the end (or are no longer
//!   listed), so per-key order survives splits and merges.
//! * Before reading a shard the consumer asks the [`ShardGate`] where to start (the caller loads its
//!   checkpoint and takes a lease there) and checks [`ShardGate::holds`] before every call.
//! * At most one GetRecords per `min_poll_interval` per shard (default 200 ms = the 5 calls/s
//!   Kinesis limit); after an empty or caught-up answer it waits `idle_poll_interval` instead.
//! * `ExpiredIteratorException` → a new iterator AFTER the last delivered sequence number (or the
//!   gate's start position when nothing was delivered). Throttling and other errors back off with
//!   jitter ([`svc_kit::backoff::Backoff`]); the SDK itself makes one attempt.
//! * A shard read to its end sends a last batch with `shard_ended` and calls
//!   [`ShardGate::finished`] (the caller commits the final checkpoint, then releases its lease); a
//!   claim answering [`StartPosition::Finished`] (ended in an earlier run) is not read at all.
//! * Batches go to a bounded channel: a slow caller pauses the reads (backpressure).

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::types::ShardIteratorType;
use bytes::Bytes;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use svc_kit::backoff::Backoff;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

#[derive(Clone, Debug)]
pub struct ConsumerConfig {
    pub stream_name: String,
    /// GetRecords `Limit` (Kinesis maximum 10 000).
    pub max_records_per_call: i32,
    pub min_poll_interval: Duration,
    pub idle_poll_interval: Duration,
    pub shard_refresh: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            stream_name: "market-events".into(),
            max_records_per_call: 10_000,
            min_poll_interval: Duration::from_millis(200),
            idle_poll_interval: Duration::from_millis(200),
            shard_refresh: Duration::from_secs(10),
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
        }
    }
}

/// Where to start reading a shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartPosition {
    TrimHorizon,
    Latest,
    AtSequence(String),
    AfterSequence(String),
    /// The shard was read to its end before (a closed parent whose final checkpoint is stored):
    /// do not read it; children may start.
    Finished,
}

/// One Kinesis record.
#[derive(Clone, Debug)]
pub struct ConsumedRecord {
    pub sequence_number: String,
    pub data: Bytes,
}

/// The records of one GetRecords answer (never empty unless `shard_ended`).
#[derive(Clone, Debug)]
pub struct ShardBatch {
    pub shard_id: Arc<str>,
    pub records: Vec<ConsumedRecord>,
    pub millis_behind_latest: Option<i64>,
    /// The shard is closed and fully read.
    pub shard_ended: bool,
}

/// Error classes the consumer reports (bounded, for metrics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumerError {
    Throttled,
    ExpiredIterator,
    NotFound,
    Timeout,
    Connection,
    Other,
}

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The caller's side of shard ownership and checkpoints.
pub trait ShardGate: Send + Sync + 'static {
    /// Resolves once this consumer may read `shard_id`, with where to start; `None` = not now
    /// (asked again after `shard_refresh`).
    fn claim(&self, shard_id: &str) -> BoxFuture<Option<StartPosition>>;
    /// Still allowed to read (checked before every GetRecords).
    fn holds(&self, _shard_id: &str) -> bool {
        true
    }
    /// The task for `shard_id` stopped reading it (lost lease, shutdown, or [`StartPosition::Finished`]).
    fn released(&self, _shard_id: &str) {}
    /// The task for `shard_id` read it to its end (closed by a reshard) and delivered the last
    /// batch (`shard_ended`). The caller may keep its lease until it has committed the shard's
    /// final checkpoint. Default: [`ShardGate::released`].
    fn finished(&self, shard_id: &str) {
        self.released(shard_id)
    }
    /// A successful call (`millis_behind_latest` as Kinesis reported it) or an error.
    fn report(&self, _shard_id: Option<&str>, _result: Result<Option<i64>, ConsumerError>) {}
}

/// Run until `shutdown`. Returns when cancelled or when the batch receiver is dropped.
pub async fn run(
    client: Client,
    cfg: ConsumerConfig,
    gate: Arc<dyn ShardGate>,
    tx: mpsc::Sender<ShardBatch>,
    shutdown: CancellationToken,
) {
    let ended: Arc<Mutex<HashSet<String>>> = Arc::default();
    // A shard that ends wakes the lister at once: its children start without waiting a refresh.
    let ended_wake = Arc::new(tokio::sync::Notify::new());
    let mut running: HashMap<String, tokio::task::AbortHandle> = HashMap::new();
    let mut tasks = JoinSet::new();
    let mut backoff = Backoff::new(cfg.backoff_base, cfg.backoff_max);
    loop {
        let wait = match list_shards(&client, &cfg.stream_name).await {
            Ok(shards) => {
                backoff.reset();
                let listed: HashSet<&str> = shards.iter().map(|s| s.id.as_str()).collect();
                let done = ended.lock().map(|g| g.clone()).unwrap_or_default();
                for s in &shards {
                    let parents_done = s
                        .parents
                        .iter()
                        .all(|p| done.contains(p) || !listed.contains(p.as_str()));
                    if done.contains(&s.id) || running.contains_key(&s.id) || !parents_done {
                        continue;
                    }
                    let shard = ShardTask {
                        client: client.clone(),
                        cfg: cfg.clone(),
                        gate: gate.clone(),
                        tx: tx.clone(),
                        shard_id: Arc::from(s.id.as_str()),
                        ended: ended.clone(),
                        ended_wake: ended_wake.clone(),
                    };
                    running.insert(s.id.clone(), tasks.spawn(shard.run(shutdown.clone())));
                }
                cfg.shard_refresh
            }
            Err(e) => {
                gate.report(None, Err(e));
                backoff.next_delay()
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tx.closed() => break,
            _ = tokio::time::sleep(wait) => {}
            _ = ended_wake.notified() => {}
        }
        running.retain(|_, h| !h.is_finished());
    }
    tasks.shutdown().await;
}

struct ListedShard {
    id: String,
    parents: Vec<String>,
}

async fn list_shards(client: &Client, stream: &str) -> Result<Vec<ListedShard>, ConsumerError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let req = match &token {
            Some(t) => client.list_shards().next_token(t),
            None => client.list_shards().stream_name(stream),
        };
        let page = req.send().await.map_err(|e| {
            classify(
                &e,
                e.as_service_error()
                    .is_some_and(|s| s.is_limit_exceeded_exception()),
            )
        })?;
        for s in page.shards() {
            let parents = [s.parent_shard_id(), s.adjacent_parent_shard_id()]
                .into_iter()
                .flatten()
                .map(str::to_string)
                .collect();
            out.push(ListedShard {
                id: s.shard_id().to_string(),
                parents,
            });
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

fn classify<E, R>(e: &aws_sdk_kinesis::error::SdkError<E, R>, throttled: bool) -> ConsumerError {
    use aws_sdk_kinesis::error::SdkError;
    match e {
        _ if throttled => ConsumerError::Throttled,
        SdkError::TimeoutError(_) => ConsumerError::Timeout,
        SdkError::DispatchFailure(_) => ConsumerError::Connection,
        _ => ConsumerError::Other,
    }
}

const ENDED: &str = "shard ended";

struct ShardTask {
    client: Client,
    cfg: ConsumerConfig,
    gate: Arc<dyn ShardGate>,
    tx: mpsc::Sender<ShardBatch>,
    shard_id: Arc<str>,
    ended: Arc<Mutex<HashSet<String>>>,
    ended_wake: Arc<tokio::sync::Notify>,
}

impl ShardTask {
    async fn run(self, shutdown: CancellationToken) {
        let id = self.shard_id.clone();
        let start = tokio::select! {
            _ = shutdown.cancelled() => None,
            s = self.gate.claim(&id) => s,
        };
        match start {
            Some(StartPosition::Finished) => {
                tracing::info!(shard = %id, "shard was read to its end before; skipped");
                self.mark_ended();
            }
            Some(start) => {
                let reason = self.read(start, &shutdown).await;
                tracing::info!(shard = %id, reason, "stopped reading shard");
                if reason == ENDED {
                    self.gate.finished(&id);
                    return;
                }
            }
            None => {}
        }
        self.gate.released(&id);
    }

    fn mark_ended(&self) {
        if let Ok(mut g) = self.ended.lock() {
            g.insert(self.shard_id.to_string());
        }
        self.ended_wake.notify_one();
    }

    /// Reads until the shard ends, the gate withdraws it, shutdown, or the receiver is gone.
    async fn read(&self, start: StartPosition, shutdown: &CancellationToken) -> &'static str {
        let mut backoff = Backoff::new(self.cfg.backoff_base, self.cfg.backoff_max);
        let mut last_seq: Option<String> = None;
        let mut iterator: Option<String> = None;
        let mut delay = Duration::ZERO;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return "shutdown",
                _ = tokio::time::sleep(delay) => {}
            }
            if !self.gate.holds(&self.shard_id) {
                return "lease lost";
            }
            let it = match iterator.take() {
                Some(it) => it,
                None => {
                    let pos = match &last_seq {
                        Some(s) => StartPosition::AfterSequence(s.clone()),
                        None => start.clone(),
                    };
                    match self.iterator(&pos).await {
                        Ok(it) => it,
                        Err(e) => {
                            self.gate.report(Some(&self.shard_id), Err(e));
                            delay = backoff.next_delay();
                            continue;
                        }
                    }
                }
            };
            let called = std::time::Instant::now();
            let res = self
                .client
                .get_records()
                .shard_iterator(&it)
                .limit(self.cfg.max_records_per_call)
                .send()
                .await;
            let out = match res {
                Ok(out) => out,
                Err(e) => {
                    let svc = e.as_service_error();
                    if svc.is_some_and(|s| s.is_expired_iterator_exception()) {
                        self.gate
                            .report(Some(&self.shard_id), Err(ConsumerError::ExpiredIterator));
                        delay = Duration::ZERO;
                        continue;
                    }
                    let throttled = svc.is_some_and(|s| {
                        s.is_provisioned_throughput_exceeded_exception() || s.is_kms_throttling_exception()
                    });
                    let class = match classify(&e, throttled) {
                        ConsumerError::Other if svc.is_some_and(|s| s.is_resource_not_found_exception()) => {
                            ConsumerError::NotFound
                        }
                        c => c,
                    };
                    self.gate.report(Some(&self.shard_id), Err(class));
                    if class != ConsumerError::Throttled {
                        // The iterator may be fine, but a fresh one after the last record is always safe.
                        iterator = None;
                    } else {
                        iterator = Some(it);
                    }
                    delay = backoff.next_delay();
                    continue;
                }
            };
            backoff.reset();
            let behind = out.millis_behind_latest();
            self.gate.report(Some(&self.shard_id), Ok(behind));
            let records: Vec<ConsumedRecord> = out
                .records()
                .iter()
                .map(|r| ConsumedRecord {
                    sequence_number: r.sequence_number().to_string(),
                    data: Bytes::copy_from_slice(r.data().as_ref()),
                })
                .collect();
            let next = out.next_shard_iterator().map(str::to_string);
            let shard_ended = next.is_none();
            let caught_up = records.is_empty() || behind == Some(0);
            if let Some(r) = records.last() {
                last_seq = Some(r.sequence_number.clone());
            }
            if !records.is_empty() || shard_ended {
                let batch = ShardBatch {
                    shard_id: self.shard_id.clone(),
                    records,
                    millis_behind_latest: behind,
                    shard_ended,
                };
                if self.tx.send(batch).await.is_err() {
                    return "receiver closed";
                }
            }
            if shard_ended {
                self.mark_ended();
                return ENDED;
            }
            iterator = next;
            // Interval measured from the start of this call: at most one call per interval.
            let interval = if caught_up {
                self.cfg.idle_poll_interval.max(self.cfg.min_poll_interval)
            } else {
                self.cfg.min_poll_interval
            };
            delay = interval.saturating_sub(called.elapsed());
        }
    }

    async fn iterator(&self, pos: &StartPosition) -> Result<String, ConsumerError> {
        let req = self
            .client
            .get_shard_iterator()
            .stream_name(&self.cfg.stream_name)
            .shard_id(self.shard_id.as_ref());
        let req = match pos {
            StartPosition::TrimHorizon => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
            StartPosition::Latest => req.shard_iterator_type(ShardIteratorType::Latest),
            StartPosition::AtSequence(s) => req
                .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                .starting_sequence_number(s),
            StartPosition::AfterSequence(s) => req
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(s),
            StartPosition::Finished => return Err(ConsumerError::Other),
        };
        let out = req.send().await.map_err(|e| {
            let throttled = e
                .as_service_error()
                .is_some_and(|s| s.is_provisioned_throughput_exceeded_exception());
            classify(&e, throttled)
        })?;
        out.shard_iterator()
            .map(str::to_string)
            .ok_or(ConsumerError::Other)
    }
}

/// Orders Kinesis sequence numbers (decimal strings without leading zeros, up to 2^128 and more).
pub fn seq_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}
