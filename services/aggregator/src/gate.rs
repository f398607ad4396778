//! The consumer's [`ShardGate`]: a Redis lease per shard (acquired atomically, renewed every third
//! of its TTL, fenced by an increasing token), the checkpoint loaded at claim time, and Kinesis
//! health/lag reporting.

use crate::cursor::Checkpoint;
use crate::store::Store;
use kinesis_io::consumer::{BoxFuture, ConsumerError, ShardGate, StartPosition};
use metrics_schema::AggregatorMetrics;
use metrics_schema::labels::{ErrorType, Stage, StateRepair};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use svc_kit::backoff::Backoff;
use svc_kit::health::{Health, Level};

/// A shard this process may read.
#[derive(Debug, Clone)]
pub struct Claim {
    pub token: String,
    pub fence: u64,
    pub ckpt: Option<Checkpoint>,
    /// The anchor epoch in Redis at claim time (a fresh state publishes above it).
    pub stored_epoch: u64,
    pub held: Arc<AtomicBool>,
}

pub struct LeaseGate {
    pub store: Arc<Store>,
    pub owner: String,
    pub ttl: Duration,
    pub initial: StartPosition,
    pub metrics: AggregatorMetrics,
    pub health: Health,
    claims: Mutex<HashMap<String, Claim>>,
    last_ok: Mutex<Option<Instant>>,
}

impl LeaseGate {
    pub fn new(
        store: Arc<Store>,
        owner: String,
        ttl: Duration,
        initial: StartPosition,
        metrics: AggregatorMetrics,
        health: Health,
    ) -> Self {
        LeaseGate {
            store,
            owner,
            ttl,
            initial,
            metrics,
            health,
            claims: Mutex::default(),
            last_ok: Mutex::default(),
        }
    }

    /// The claim of `shard`, if this process holds it.
    pub fn claim_of(&self, shard: &str) -> Option<Claim> {
        self.claims.lock().ok()?.get(shard).cloned()
    }

    pub fn is_held(&self, shard: &str) -> bool {
        self.claim_of(shard)
            .is_some_and(|c| c.held.load(Ordering::Relaxed))
    }

    /// The last successful GetRecords was within `within`.
    pub fn consuming(&self, within: Duration) -> bool {
        self.last_ok
            .lock()
            .ok()
            .and_then(|g| *g)
            .is_some_and(|t| t.elapsed() <= within)
    }

    /// The pipeline committed the final checkpoint of a shard that ended (reshard): stop renewing
    /// and release its lease.
    pub fn retire(&self, shard: &str) {
        let claim = self.claims.lock().ok().and_then(|mut g| g.remove(shard));
        if let Some(c) = claim {
            tracing::info!(%shard, "closed shard finished: final checkpoint written, lease released");
            c.held.store(false, Ordering::Relaxed);
            let store = self.store.clone();
            let shard = shard.to_string();
            tokio::spawn(async move {
                let _ = store.release(&shard, &c.token).await;
            });
        }
    }

    /// Reads what a claim needs: the checkpoint (garbled fields dropped, logged and counted) and
    /// the stored anchor epoch.
    async fn load(&self, shard: &str) -> Result<(Option<Checkpoint>, u64), crate::store::StoreError> {
        let (ckpt, bad) = self.store.load_checkpoint(shard).await?;
        if !bad.is_empty() {
            tracing::error!(
                %shard,
                fields = ?bad,
                dropped_checkpoint = ckpt.is_none(),
                "garbled checkpoint fields ignored (a garbled seq drops the checkpoint: the shard is re-read from the initial position)"
            );
            self.store.repaired(StateRepair::CorruptCheckpoint);
        }
        let stored_epoch = self.store.stored_epoch().await?;
        Ok((ckpt, stored_epoch))
    }

    /// Releases every lease (shutdown), bounded by the store timeout per call.
    pub async fn release_all(&self) {
        let claims: Vec<(String, Claim)> = self
            .claims
            .lock()
            .map(|mut g| g.drain().collect())
            .unwrap_or_default();
        for (shard, c) in claims {
            c.held.store(false, Ordering::Relaxed);
            let _ = self.store.release(&shard, &c.token).await;
        }
    }

    async fn claim_loop(self: Arc<Self>, shard: String) -> Option<StartPosition> {
        let mut backoff = Backoff::new(Duration::from_millis(100), self.ttl / 2);
        loop {
            match self.store.acquire(&shard, &self.owner, self.ttl).await {
                Ok(Some((token, fence))) => match self.load(&shard).await {
                    Ok((ckpt, _)) if ckpt.as_ref().is_some_and(|c| c.ended) => {
                        tracing::info!(%shard, "closed shard was read to its end before; not read again");
                        let _ = self.store.release(&shard, &token).await;
                        return Some(StartPosition::Finished);
                    }
                    Ok((ckpt, stored_epoch)) => {
                        let start = match &ckpt {
                            Some(c) => c
                                .replay_from
                                .clone()
                                .map(StartPosition::AtSequence)
                                .unwrap_or(StartPosition::TrimHorizon),
                            None => self.initial.clone(),
                        };
                        tracing::info!(%shard, fence, ?start, "shard lease acquired");
                        if let Err(e) = self.store.ensure_control_stream().await {
                            tracing::warn!(error = %e, "could not create the control stream (retried at the next lease)");
                        }
                        let held = Arc::new(AtomicBool::new(true));
                        let claim = Claim {
                            token: token.clone(),
                            fence,
                            ckpt,
                            stored_epoch,
                            held: held.clone(),
                        };
                        if let Ok(mut g) = self.claims.lock() {
                            g.insert(shard.clone(), claim);
                        }
                        tokio::spawn(self.clone().renew_loop(shard, token, held));
                        return Some(start);
                    }
                    Err(e) => {
                        if e.wrong_type() {
                            tracing::error!(%shard, error = %e, "state key of the wrong type: unhealthy until it is deleted");
                            self.metrics.error(ErrorType::Rejected, Stage::Redis);
                            self.health
                                .set("redis", Level::Unhealthy, "corrupt", Some(e.corrupt_detail()));
                        } else {
                            tracing::warn!(%shard, error = %e, "checkpoint read failed; releasing the lease");
                        }
                        let _ = self.store.release(&shard, &token).await;
                    }
                },
                Ok(None) => {
                    tracing::debug!(%shard, "lease held by another aggregator");
                    tokio::time::sleep(self.ttl / 4).await;
                    continue;
                }
                Err(e) => {
                    self.metrics.error(ErrorType::Connection, Stage::Redis);
                    tracing::warn!(%shard, error = %e, "lease acquisition failed");
                }
            }
            tokio::time::sleep(backoff.next_delay()).await;
        }
    }

    async fn renew_loop(self: Arc<Self>, shard: String, token: String, held: Arc<AtomicBool>) {
        let mut last_renewed = Instant::now();
        while held.load(Ordering::Relaxed) {
            tokio::time::sleep(self.ttl / 3).await;
            if !held.load(Ordering::Relaxed) {
                break;
            }
            match self.store.renew(&shard, &token, self.ttl).await {
                Ok(true) => last_renewed = Instant::now(),
                Ok(false) => {
                    tracing::warn!(%shard, "shard lease lost to another aggregator");
                    held.store(false, Ordering::Relaxed);
                }
                Err(e) if last_renewed.elapsed() >= self.ttl => {
                    tracing::warn!(%shard, error = %e, "shard lease expired while Redis was unreachable");
                    held.store(false, Ordering::Relaxed);
                }
                Err(_) => {}
            }
        }
    }
}

/// Newtype so the gate can be shared as `Arc<dyn ShardGate>` while claims spawn on `Arc<LeaseGate>`.
pub struct GateHandle(pub Arc<LeaseGate>);

impl ShardGate for GateHandle {
    fn claim(&self, shard_id: &str) -> BoxFuture<Option<StartPosition>> {
        Box::pin(self.0.clone().claim_loop(shard_id.to_string()))
    }

    fn holds(&self, shard_id: &str) -> bool {
        self.0.is_held(shard_id)
    }

    /// Keep the lease: the pipeline writes the shard's final checkpoint, then calls
    /// [`LeaseGate::retire`].
    fn finished(&self, _shard_id: &str) {}

    fn released(&self, shard_id: &str) {
        let claim = self.0.claims.lock().ok().and_then(|mut g| g.remove(shard_id));
        if let Some(c) = claim {
            c.held.store(false, Ordering::Relaxed);
            let store = self.0.store.clone();
            let shard = shard_id.to_string();
            tokio::spawn(async move {
                let _ = store.release(&shard, &c.token).await;
            });
        }
    }

    fn report(&self, shard_id: Option<&str>, result: Result<Option<i64>, ConsumerError>) {
        let g = &self.0;
        match result {
            Ok(behind) => {
                if let Ok(mut t) = g.last_ok.lock() {
                    *t = Some(Instant::now());
                }
                if let Some(ms) = behind {
                    g.metrics.kinesis_lag.set(ms as f64 / 1000.0);
                }
                g.health.set("kinesis", Level::Healthy, "consuming", None);
            }
            Err(e) => {
                let t = match e {
                    ConsumerError::Throttled => ErrorType::Throttled,
                    ConsumerError::Timeout => ErrorType::Timeout,
                    ConsumerError::Connection => ErrorType::Connection,
                    ConsumerError::ExpiredIterator | ConsumerError::NotFound => ErrorType::Rejected,
                    ConsumerError::Other => ErrorType::Internal,
                };
                g.metrics.error(t, Stage::Kinesis);
                if e != ConsumerError::ExpiredIterator {
                    let detail = format!("{e:?} on {}", shard_id.unwrap_or("ListShards"));
                    g.health.set("kinesis", Level::Degraded, "retrying", Some(detail));
                }
            }
        }
    }
}
