//! State shared by the feed, the WebSocket sessions, REST and admin: the outbound broadcast, the
//! served book, armed faults, rate limiter and counters.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use market::InstrumentScale;
use tokio::sync::{Notify, broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::config::SimConfig;
use crate::faults::{ArmedFaults, Fault};
use crate::feed::MarketState;
use crate::frames;
use crate::server::limits::RateLimiter;
use crate::stats::{Stats, inc};
use crate::streams::StreamKind;

/// What the feed and the admin API push to every WebSocket session.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A market-data frame; sessions forward it when subscribed to `kind`.
    Data { kind: StreamKind, frame: Bytes },
    /// A binary frame for every client (fault: unknown template id).
    Binary(Bytes),
    /// A JSON text event for every client (`serverShutdown`).
    Text(String),
    /// Drop every connection now.
    DisconnectAll,
}

/// Locks a mutex, recovering the data if a holder panicked (state here stays consistent per call).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Microseconds since the Unix epoch, wall clock.
pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// The shared simulator state.
#[derive(Debug)]
pub struct Shared {
    pub cfg: SimConfig,
    pub scale: InstrumentScale,
    pub stats: Stats,
    tx: broadcast::Sender<Outbound>,
    pub market: Mutex<MarketState>,
    /// Notified whenever the served book becomes synced.
    pub book_ready: Notify,
    pub faults: Mutex<ArmedFaults>,
    subscribed: watch::Sender<usize>,
    pub limiter: Mutex<RateLimiter>,
    pub shutdown: CancellationToken,
}

impl Shared {
    /// Fresh state for `cfg`.
    pub fn new(cfg: SimConfig) -> Arc<Self> {
        let (tx, _) = broadcast::channel(cfg.client_queue.max(16));
        let limiter = RateLimiter::new(
            cfg.rest_weight_limit,
            cfg.rest_window,
            cfg.ban_after_violations,
            cfg.ban_duration,
        );
        Arc::new(Self {
            scale: InstrumentScale::BTCUSDT_SPOT,
            stats: Stats::default(),
            tx,
            market: Mutex::new(MarketState::default()),
            book_ready: Notify::new(),
            faults: Mutex::new(ArmedFaults::default()),
            subscribed: watch::Sender::new(0),
            limiter: Mutex::new(limiter),
            shutdown: CancellationToken::new(),
            cfg,
        })
    }

    /// Sends to every session (a no-op without sessions).
    pub fn publish(&self, out: Outbound) {
        let _ = self.tx.send(out);
    }

    /// A new session's receiver.
    pub fn subscribe(&self) -> broadcast::Receiver<Outbound> {
        self.tx.subscribe()
    }

    /// Frames not yet received by the slowest session.
    pub fn queued(&self) -> usize {
        self.tx.len()
    }

    /// Capacity of each session's queue.
    pub fn queue_capacity(&self) -> usize {
        self.cfg.client_queue.max(16)
    }

    /// A session's subscription count went from 0 to ≥ 1 (`delta = 1`) or back (`-1`).
    pub fn subscriber_delta(&self, delta: isize) {
        self.subscribed
            .send_modify(|n| *n = n.saturating_add_signed(delta));
    }

    /// Waits until some session has a subscription (or shutdown).
    pub async fn wait_for_subscriber(&self) {
        let mut rx = self.subscribed.subscribe();
        tokio::select! {
            _ = rx.wait_for(|n| *n > 0) => {}
            () = self.shutdown.cancelled() => {}
        }
    }

    /// End of the network stall in progress, if any.
    pub fn stalled_until(&self) -> Option<Instant> {
        lock(&self.faults).stalled_until(Instant::now())
    }

    /// End of the lossless pause in progress, if any.
    pub fn paused_until(&self) -> Option<Instant> {
        lock(&self.faults).paused_until(Instant::now())
    }

    /// No market data and no pings go out now (a network stall or a pause).
    pub fn is_silent(&self) -> bool {
        let f = lock(&self.faults);
        let now = Instant::now();
        f.stalled_until(now).is_some() || f.paused_until(now).is_some()
    }
}

/// Applies a fault now: instant ones are published, the others armed for the feed / REST.
pub fn apply_fault(shared: &Arc<Shared>, fault: &Fault) {
    shared.stats.fault_requested(fault.kind());
    match *fault {
        Fault::DisconnectAll => shared.publish(Outbound::DisconnectAll),
        Fault::UnknownTemplate { template_id } => {
            inc(&shared.stats.unknown_template_frames);
            shared.publish(Outbound::Binary(Bytes::from(frames::unknown_template(
                template_id,
            ))));
        }
        Fault::ServerShutdown { disconnect_after_ms } => {
            inc(&shared.stats.server_shutdown_events);
            let event = serde_json::json!({"e": "serverShutdown", "E": now_us()});
            shared.publish(Outbound::Text(event.to_string()));
            if let Some(ms) = disconnect_after_ms {
                let shared = Arc::clone(shared);
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    shared.publish(Outbound::DisconnectAll);
                });
            }
        }
        Fault::Stall { .. } => {
            inc(&shared.stats.stalls);
            lock(&shared.faults).arm(fault, Instant::now());
        }
        Fault::Pause { .. } => {
            inc(&shared.stats.pauses);
            lock(&shared.faults).arm(fault, Instant::now());
        }
        _ => lock(&shared.faults).arm(fault, Instant::now()),
    }
}
