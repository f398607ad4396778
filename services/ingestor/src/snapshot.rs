//! The snapshot task: fetches REST depth snapshots when asked (reconnect, gap, local drop,
//! aggregator re-anchor request) and periodically, and publishes each as a `DepthSnapshot`
//! event in-band. Requests for the same symbol coalesce; failures retry with jittered backoff,
//! never faster than the weight budget, `Retry-After` or the circuit breaker allow.

use crate::ingest::{SnapshotReason, SnapshotRequest};
use crate::metrics::HotMetrics;
use crate::normalize::Normalizer;
use crate::pending::Pending;
use crate::rest::RestClient;
use binance_sbe::{RestResponse, decode_rest_response};
use bytes::Bytes;
use kinesis_io::producer::Outgoing;
use metrics_schema::labels::{DropReason, Intentional};
use pipeline_events::EventMeta;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use svc_kit::backoff::Backoff;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub struct SnapshotTask {
    pub rest: RestClient,
    pub depth_limit: u32,
    pub interval: Option<Duration>,
    pub symbols: Vec<Arc<str>>,
    pub events: mpsc::Sender<Outgoing>,
    pub epoch: Arc<AtomicU64>,
    pub metrics: HotMetrics,
    pub backoff: Backoff,
    /// Unsatisfied requests older than this expire (counted).
    pub max_request_age: Duration,
}

/// `now + d`, or a far-future instant when that overflows the clock.
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .unwrap_or_else(|| Instant::from_std(crate::weight::far_future(now.into_std())))
}

impl SnapshotTask {
    pub async fn run(mut self, mut rx: mpsc::Receiver<SnapshotRequest>, shutdown: CancellationToken) {
        let mut pending = Pending::new(self.max_request_age);
        let far = Duration::from_secs(3600 * 24 * 365);
        let mut next_periodic = later(Instant::now(), self.interval.unwrap_or(far));
        let mut next_try = Instant::now();
        loop {
            let wake = match pending.next_expiry() {
                None => next_periodic,
                Some(expiry) => next_try
                    .min(next_periodic)
                    .min(later(expiry, Duration::from_millis(1))),
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                req = rx.recv() => match req {
                    Some(r) => pending.add(r, Instant::now()),
                    None => return,
                },
                _ = tokio::time::sleep_until(wake) => {}
            }
            let now = Instant::now();
            for r in pending.expire(now) {
                self.metrics.all.snapshot_requests_expired.inc();
                tracing::warn!(symbol = %r.symbol, reason = ?r.reason, min_update_id = ?r.min_update_id,
                    max_age = ?self.max_request_age, "snapshot request expired unsatisfied");
            }
            if now >= next_periodic {
                next_periodic = later(now, self.interval.unwrap_or(far));
                for s in &self.symbols {
                    pending.add(
                        SnapshotRequest {
                            symbol: s.clone(),
                            reason: SnapshotReason::Periodic,
                            min_update_id: None,
                        },
                        now,
                    );
                }
            }
            if now < next_try {
                continue;
            }
            let Some(req) = pending.next() else {
                continue;
            };
            match self.fetch(&req).await {
                Ok(true) => {
                    pending.done(&req.symbol);
                    self.backoff.reset();
                }
                Ok(false) => next_try = later(Instant::now(), Duration::from_millis(200)),
                Err(wait) => {
                    let wait = wait.max(self.backoff.next_delay());
                    next_try = later(Instant::now(), wait);
                }
            }
        }
    }

    /// `Ok(true)` published, `Ok(false)` too old for the stream (fetch again soon), `Err(wait)`.
    async fn fetch(&mut self, req: &SnapshotRequest) -> Result<bool, Duration> {
        let body = match self.rest.depth(&req.symbol, self.depth_limit).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(symbol = %req.symbol, reason = ?req.reason, error = %e, "depth snapshot failed");
                return Err(e.wait());
            }
        };
        let recv_ns = crate::clock::now_ns();
        let Ok(RestResponse::Depth(d)) = decode_rest_response(&body) else {
            return Err(Duration::ZERO);
        };
        if req.min_update_id.is_some_and(|min| d.last_update_id() < min) {
            tracing::info!(symbol = %req.symbol, last_update_id = d.last_update_id(), "snapshot older than the stream; fetching again");
            return Ok(false);
        }
        let meta = EventMeta {
            ingest_time_ns: recv_ns,
            connection_epoch: self.epoch.load(Ordering::Acquire),
        };
        let mut buf = Vec::with_capacity(body.len() + 64);
        if let Err(e) = Normalizer::new().rest_depth(&d, &req.symbol, meta, &mut buf) {
            tracing::warn!(error = %e, "cannot encode a depth snapshot");
            self.metrics.dropped(DropReason::Oversized, Intentional::No);
            return Ok(true);
        }
        tracing::info!(symbol = %req.symbol, reason = ?req.reason, last_update_id = d.last_update_id(), "depth snapshot published");
        let out = Outgoing {
            partition_key: req.symbol.clone(),
            data: Bytes::from(buf),
        };
        if self.events.send(out).await.is_err() {
            self.metrics.dropped(DropReason::Shutdown, Intentional::Yes);
        }
        Ok(true)
    }
}
