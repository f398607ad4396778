//! State shared by the tick loop, the reload task and the HTTP API: the models, the active
//! variant, and the published predictions (latest, bounded history, SSE broadcast).

use crate::config::Variant;
use crate::lifecycle::Lifecycle;
use crate::models::ModelStore;
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::{Semaphore, broadcast};
use tokio_util::sync::CancellationToken;

/// One published prediction as the API serves it.
#[derive(Clone, Debug)]
pub struct Published {
    pub tick_time_us: i64,
    /// The prediction's JSON, serialised once per tick.
    pub json: Bytes,
}

pub struct Shared {
    pub symbol: String,
    pub models: ModelStore,
    /// Challenger, previous champion, audit log, live scores (issue 17).
    pub lifecycle: Lifecycle,
    /// `true` = baseline.
    baseline: AtomicBool,
    latest: RwLock<Option<Published>>,
    history: Mutex<VecDeque<Published>>,
    history_cap: usize,
    tx: broadcast::Sender<Published>,
    /// Bounds concurrent SSE subscribers.
    pub sse_slots: Arc<Semaphore>,
    pub shutdown: CancellationToken,
    /// Error of the latest model run (cleared by a successful run).
    last_run_error: Mutex<Option<String>>,
}

impl Shared {
    pub fn new(
        symbol: String,
        models: ModelStore,
        variant: Variant,
        history_cap: usize,
        max_sse: usize,
        shutdown: CancellationToken,
    ) -> Self {
        let (tx, _) = broadcast::channel(64);
        Shared {
            symbol,
            lifecycle: Lifecycle::disabled(models.path(Variant::Ml)),
            models,
            baseline: AtomicBool::new(variant == Variant::Baseline),
            latest: RwLock::new(None),
            history: Mutex::new(VecDeque::with_capacity(history_cap)),
            history_cap: history_cap.max(1),
            tx,
            sse_slots: Arc::new(Semaphore::new(max_sse)),
            shutdown,
            last_run_error: Mutex::new(None),
        }
    }

    /// Replaces the (disabled) lifecycle with the configured one.
    pub fn with_lifecycle(mut self, lifecycle: Lifecycle) -> Self {
        self.lifecycle = lifecycle;
        self
    }

    pub fn variant(&self) -> Variant {
        if self.baseline.load(Ordering::Acquire) {
            Variant::Baseline
        } else {
            Variant::Ml
        }
    }

    /// Switch the serving variant; returns the previous one.
    pub fn set_variant(&self, v: Variant) -> Variant {
        if self.baseline.swap(v == Variant::Baseline, Ordering::AcqRel) {
            Variant::Baseline
        } else {
            Variant::Ml
        }
    }

    /// Make a prediction visible to the API and SSE subscribers.
    pub fn publish(&self, p: Published) {
        {
            let mut h = self.history.lock().unwrap_or_else(|e| e.into_inner());
            if h.len() == self.history_cap {
                h.pop_front();
            }
            h.push_back(p.clone());
        }
        *self.latest.write().unwrap_or_else(|e| e.into_inner()) = Some(p.clone());
        // No subscriber is not an error.
        let _ = self.tx.send(p);
    }

    /// Seed the history (oldest first) from the Redis stream at start-up.
    pub fn seed_history(&self, oldest_first: impl IntoIterator<Item = Published>) {
        let mut h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        for p in oldest_first {
            if h.len() == self.history_cap {
                h.pop_front();
            }
            h.push_back(p);
        }
    }

    pub fn latest(&self) -> Option<Published> {
        self.latest.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The newest `limit` predictions, newest first.
    pub fn recent(&self, limit: usize) -> Vec<Bytes> {
        let h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        h.iter().rev().take(limit).map(|p| p.json.clone()).collect()
    }

    pub fn history_cap(&self) -> usize {
        self.history_cap
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Published> {
        self.tx.subscribe()
    }

    pub fn set_run_error(&self, e: Option<String>) {
        *self.last_run_error.lock().unwrap_or_else(|e| e.into_inner()) = e;
    }

    pub fn run_error(&self) -> Option<String> {
        self.last_run_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(cap: usize) -> Shared {
        Shared::new(
            "BTCUSDT".into(),
            ModelStore::new("a".into(), "b".into()),
            Variant::Ml,
            cap,
            4,
            CancellationToken::new(),
        )
    }

    fn p(t: i64) -> Published {
        Published {
            tick_time_us: t,
            json: Bytes::from(t.to_string()),
        }
    }

    #[test]
    fn history_is_bounded_and_listed_newest_first() {
        let s = shared(3);
        for t in 1..=5 {
            s.publish(p(t));
        }
        assert_eq!(
            s.recent(10),
            vec![Bytes::from("5"), Bytes::from("4"), Bytes::from("3")]
        );
        assert_eq!(s.recent(1), vec![Bytes::from("5")]);
        assert_eq!(s.latest().map(|p| p.tick_time_us), Some(5));
    }

    #[test]
    fn subscribers_receive_each_published_prediction() {
        let s = shared(3);
        let mut rx = s.subscribe();
        s.publish(p(7));
        assert_eq!(rx.try_recv().map(|p| p.tick_time_us).ok(), Some(7));
    }

    #[test]
    fn variant_switch_returns_the_previous_variant() {
        let s = shared(1);
        assert_eq!(s.set_variant(Variant::Baseline), Variant::Ml);
        assert_eq!(s.variant(), Variant::Baseline);
        assert_eq!(s.set_variant(Variant::Ml), Variant::Baseline);
    }
}
