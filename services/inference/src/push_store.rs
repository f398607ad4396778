//! The tick's features from the aggregator's push, with today's read as the fallback.
//!
//! [`PushStore`] wraps the Redis store (`S`): a second fred client, subscribed to
//! `{S}:features:push` (same URL, TLS and ACL user as the store's), keeps the newest pushed snapshot
//! in memory; `read_features` hands it to the tick with no round trip when [`Slot::choose`] allows,
//! and otherwise does the store's `HGETALL` (counted per reason in
//! `inference_feature_push_fallbacks_total`; `inference_feature_source_total{source}` counts every
//! tick). Publishing is the store's, unchanged.
//!
//! Resynchronisation: fred broadcasts a connection error as soon as its reader sees the connection
//! end, and every (re)connection before the client reports connected. On either, the memory is
//! cleared and the tick reads; after a reconnection the follower task drops queued messages (they
//! came on the old connection) and subscribes again. The tick watches both broadcasts itself too
//! (it may run before the follower task), so a snapshot from before a gap is never served after
//! the client has seen the gap. Until a message arrives on the new subscription the tick reads.

use crate::contract::RawFeatures;
use crate::push::{self, Latest, PushLimits, Slot};
use crate::store::{HotPathStore, PublishOutcome, StoreError};
use bytes::Bytes;
use fred::prelude::*;
use fred::types::Message;
use fred::types::config::Server;
use metrics_schema::InferenceMetrics;
use metrics_schema::labels::{FeatureSource, PushFallback, PushMessageOutcome};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

/// Ticks served from memory and from a read (the bench's share; the metric counts the same).
#[derive(Debug, Default)]
pub struct Served {
    pub push: AtomicU64,
    pub read: AtomicU64,
}

struct Inner {
    slot: Mutex<Slot>,
    /// The tick's own view of the reconnections and connection errors since the current
    /// subscription was acknowledged (see the module doc); replaced at each acknowledgement, so the
    /// events that led to it (the first connection included) do not clear its first snapshot.
    watch: Mutex<Option<Watch>>,
    client: Client,
    channel: String,
    limits: PushLimits,
    metrics: Option<InferenceMetrics>,
    served: Served,
    /// (`compute_time_us`, delivery delay µs) of accepted messages, kept only when asked for
    /// (tests, bench).
    delays: Option<Mutex<Vec<(i64, i64)>>>,
}

pub struct PushStore<S> {
    read: S,
    inner: Arc<Inner>,
    follower: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl<S> std::ops::Deref for PushStore<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.read
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<S: HotPathStore> PushStore<S> {
    /// Wraps `read`; `config` is the fred config of the store's own client (the service passes
    /// [`svc_kit::redis::fred_config`]). Nothing connects before [`PushStore::start_push`].
    pub fn new(
        read: S,
        mut config: Config,
        symbol: &str,
        limits: PushLimits,
        metrics: Option<InferenceMetrics>,
    ) -> Result<Self, StoreError> {
        config.fail_fast = false;
        let client = Builder::from_config(config)
            .with_connection_config(|c| {
                c.connection_timeout = Duration::from_secs(2);
                c.internal_command_timeout = Duration::from_secs(2);
                c.tcp.nodelay = Some(true);
            })
            .with_performance_config(|p| {
                p.default_command_timeout = Duration::from_secs(2);
                // A flush every ~10–100 ms: 1 024 queued messages is seconds of backlog, and an
                // overflow is handled (counted as dropped, memory cleared, then resynchronised).
                p.broadcast_channel_capacity = 1_024;
            })
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2))
            .build()?;
        Ok(PushStore {
            read,
            inner: Arc::new(Inner {
                slot: Mutex::new(Slot::default()),
                watch: Mutex::new(None),
                client,
                channel: push::channel(symbol),
                limits,
                metrics,
                served: Served::default(),
                delays: None,
            }),
            follower: Mutex::new(None),
        })
    }

    /// Keep every accepted message's delivery delay (tests and bench only: unbounded, so never in
    /// the service).
    pub fn record_delays(mut self) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.delays = Some(Mutex::new(Vec::new()));
        }
        self
    }

    /// Connects the subscriber and starts the task that follows it, on the current runtime (the
    /// service's tick thread, so accepting a message never crosses threads).
    pub fn start_push(&self) {
        let messages = self.inner.client.message_rx();
        let reconnects = self.inner.client.reconnect_rx();
        let errors = self.inner.client.error_rx();
        let _handle = self.inner.client.connect();
        let task = tokio::spawn(follow(self.inner.clone(), messages, reconnects, errors));
        if let Some(old) = lock(&self.follower).replace(task) {
            old.abort();
        }
    }

    /// Whether the subscription is acknowledged and a snapshot would be served now (tests, bench).
    pub fn serving_push(&self) -> bool {
        lock(&self.inner.slot)
            .choose(
                self.inner.client.is_connected(),
                Instant::now(),
                &self.inner.limits,
            )
            .is_ok()
    }

    pub fn served(&self) -> &Served {
        &self.inner.served
    }

    /// (`compute_time_us`, delivery delay µs) of the messages accepted so far (empty unless
    /// [`PushStore::record_delays`]).
    pub fn take_delays(&self) -> Vec<(i64, i64)> {
        self.inner
            .delays
            .as_ref()
            .map(|d| std::mem::take(&mut *lock(d)))
            .unwrap_or_default()
    }

    /// The subscriber client (tests: kill its connection).
    pub fn subscriber(&self) -> &Client {
        &self.inner.client
    }

    /// Stops following and closes the subscriber.
    pub async fn quit_push(&self) {
        if let Some(task) = lock(&self.follower).take() {
            task.abort();
        }
        let _ = tokio::time::timeout(Duration::from_millis(500), self.inner.client.quit()).await;
    }

    /// The snapshot in memory, if the tick may use it; else why not.
    fn memory_snapshot(&self) -> Result<RawFeatures, PushFallback> {
        let inner = &self.inner;
        let (dropped, reconnected) = lock(&inner.watch).as_mut().map_or((false, false), |w| {
            (drain(&mut w.errors), drain(&mut w.reconnects))
        });
        let mut slot = lock(&inner.slot);
        if dropped {
            slot.invalidate();
            slot.subscribed = false;
        } else if reconnected {
            slot.invalidate();
        }
        slot.choose(inner.client.is_connected(), Instant::now(), &inner.limits)
            .cloned()
    }
}

/// Connection events the tick checks itself.
struct Watch {
    reconnects: Receiver<Server>,
    errors: Receiver<(Error, Option<Server>)>,
}

/// Whether anything (or an overflow) was queued; empties the queue.
fn drain<T: Clone>(rx: &mut Receiver<T>) -> bool {
    let mut seen = false;
    loop {
        match rx.try_recv() {
            Ok(_) | Err(TryRecvError::Lagged(_)) => seen = true,
            Err(TryRecvError::Empty | TryRecvError::Closed) => return seen,
        }
    }
}

impl Inner {
    fn count_message(&self, outcome: PushMessageOutcome, n: u64) {
        if let Some(m) = &self.metrics {
            m.push_message(outcome, n);
        }
    }

    fn accept(&self, msg: Message) {
        let Some(payload) = msg.value.into_bytes() else {
            self.count_message(PushMessageOutcome::Malformed, 1);
            lock(&self.slot).invalidate();
            return;
        };
        match push::decode_payload(&payload) {
            Ok(p) => {
                let delay_us = (crate::hot_path::now_us() - p.compute_time_us).max(0);
                if let Some(m) = &self.metrics {
                    m.push_delay(delay_us as f64 / 1e6);
                }
                if let Some(d) = &self.delays {
                    lock(d).push((p.compute_time_us, delay_us));
                }
                self.count_message(PushMessageOutcome::Accepted, 1);
                lock(&self.slot).latest = Some(Latest {
                    raw: p.raw,
                    received: Instant::now(),
                    delay_us,
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "pushed features refused; reading until the next valid one");
                self.count_message(PushMessageOutcome::Malformed, 1);
                lock(&self.slot).invalidate();
            }
        }
    }

    /// The connection ended: forget the memory and anything queued from it; not subscribed until
    /// a reconnection's `SUBSCRIBE` is acknowledged.
    fn connection_lost(&self, messages: &mut Receiver<Message>) {
        {
            let mut slot = lock(&self.slot);
            slot.invalidate();
            slot.subscribed = false;
        }
        drain(messages);
    }

    /// New connection: forget the memory and anything queued from the old one, then subscribe.
    async fn resubscribe(&self, messages: &mut Receiver<Message>) {
        self.connection_lost(messages);
        self.subscribe().await;
    }

    async fn subscribe(&self) {
        match self.client.subscribe(self.channel.as_str()).await {
            Ok(()) => {
                // No await between the acknowledgement being handled here and the follower's next
                // look at its own receivers: an event after this point reaches both.
                *lock(&self.watch) = Some(Watch {
                    reconnects: self.client.reconnect_rx(),
                    errors: self.client.error_rx(),
                });
                lock(&self.slot).subscribed = true;
            }
            Err(e) => {
                tracing::warn!(error = %e, channel = %self.channel, "cannot subscribe to pushed features; reading")
            }
        }
    }
}

/// Follows the subscription until the client quits: reconnections and connection errors first
/// (biased), then messages; retries a failed SUBSCRIBE every second.
async fn follow(
    inner: Arc<Inner>,
    mut messages: Receiver<Message>,
    mut reconnects: Receiver<Server>,
    mut errors: Receiver<(Error, Option<Server>)>,
) {
    let mut retry = tokio::time::interval(Duration::from_secs(1));
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let subscribed = lock(&inner.slot).subscribed;
        tokio::select! {
            biased;
            r = reconnects.recv() => match r {
                Err(RecvError::Closed) => return,
                Ok(_) | Err(RecvError::Lagged(_)) => inner.resubscribe(&mut messages).await,
            },
            e = errors.recv() => match e {
                Err(RecvError::Closed) => return,
                Ok(_) | Err(RecvError::Lagged(_)) => inner.connection_lost(&mut messages),
            },
            m = messages.recv() => match m {
                Ok(msg) => inner.accept(msg),
                Err(RecvError::Lagged(n)) => {
                    inner.count_message(PushMessageOutcome::Dropped, n);
                    lock(&inner.slot).invalidate();
                }
                Err(RecvError::Closed) => return,
            },
            _ = retry.tick(), if !subscribed && inner.client.is_connected() => inner.subscribe().await,
        }
    }
}

impl<S: HotPathStore> HotPathStore for PushStore<S> {
    async fn read_features(&self) -> Result<Option<RawFeatures>, StoreError> {
        let inner = &self.inner;
        match self.memory_snapshot() {
            Ok(raw) => {
                inner.served.push.fetch_add(1, Ordering::Relaxed);
                if let Some(m) = &inner.metrics {
                    m.feature_source(FeatureSource::Push, None);
                }
                Ok(Some(raw))
            }
            Err(reason) => {
                inner.served.read.fetch_add(1, Ordering::Relaxed);
                if let Some(m) = &inner.metrics {
                    m.feature_source(FeatureSource::Read, Some(reason));
                }
                self.read.read_features().await
            }
        }
    }

    fn publish(
        &self,
        tick_time_us: i64,
        json: Bytes,
    ) -> impl Future<Output = Result<PublishOutcome, StoreError>> + Send {
        self.read.publish(tick_time_us, json)
    }

    fn is_connected(&self) -> bool {
        self.read.is_connected()
    }
}
