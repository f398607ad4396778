//! Tick-loop supervision (issue 14 item 6): `/ready` only once a tick completed, and `/health`
//! unhealthy when no tick completed for 3 intervals (a wedged loop must not keep serving its last
//! prediction as if all were well).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::Bytes;
use common::*;
use inference::config::Variant;
use inference::contract::RawFeatures;
use inference::decision::Limits;
use inference::evaluation::Evaluator;
use inference::hot_path::HotPath;
use inference::models::ModelStore;
use inference::slo::SloWindow;
use inference::state::Shared;
use inference::store::{HotPathStore, PublishOutcome, StoreError};
use inference::supervision::{self, TICK_LOOP};
use inference::tick::TickLoop;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use svc_kit::health::{Health, Level};
use svc_kit::testing::servers::RedisServer;
use tokio_util::sync::CancellationToken;

#[test]
fn ready_only_once_the_first_tick_has_completed() {
    let redis = RedisServer::start().unwrap();
    let _writer = FeatureWriter::start(redis.port);
    // A 10 s interval: the first tick is seconds away when the HTTP shell starts serving.
    let svc = start_service(
        &redis.url(),
        Some("ml.onnx"),
        Some("baseline.onnx"),
        &[("INFERENCE__TICK__INTERVAL_MS", "10000")],
    );
    let start = Instant::now();
    let mut polls = 0;
    loop {
        // Readiness first: a prediction is published before the loop marks the service ready.
        let ready = http(svc.base(), "GET", "/ready", "").0;
        let latest = http(svc.base(), "GET", "/v1/predictions/latest", "").0;
        polls += 1;
        assert!(
            ready != 200 || latest == 200,
            "/ready 200 while /v1/predictions/latest is {latest} (no tick yet), poll {polls} at {:?}",
            start.elapsed()
        );
        if ready == 200 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(25), "never ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(svc.component(TICK_LOOP), "ticking");
}

/// Answers (no features, publish written) until `hang` is set, then never answers again.
struct HangingStore {
    hang: AtomicBool,
}

impl HotPathStore for HangingStore {
    async fn read_features(&self) -> Result<Option<RawFeatures>, StoreError> {
        if self.hang.load(Ordering::Relaxed) {
            std::future::pending::<()>().await;
        }
        Ok(None)
    }
    async fn publish(&self, _tick_time_us: i64, _json: Bytes) -> Result<PublishOutcome, StoreError> {
        Ok(PublishOutcome::Written)
    }
    fn is_connected(&self) -> bool {
        true
    }
}

async fn wait_health(health: &Health, what: &str, f: impl Fn(&Health) -> bool) {
    let start = Instant::now();
    while !f(health) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "timed out waiting for {what}: {:?}",
            health.report()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wedged_tick_loop_turns_health_unhealthy_and_the_service_unready() {
    let interval_us = 100_000;
    let shutdown = CancellationToken::new();
    let dir = tempfile::tempdir().unwrap();
    let shared = Arc::new(Shared::new(
        "BTCUSDT".into(),
        ModelStore::new(dir.path().join("m.onnx"), dir.path().join("b.onnx")),
        Variant::Ml,
        10,
        1,
        shutdown.clone(),
    ));
    let store = Arc::new(HangingStore {
        hang: AtomicBool::new(false),
    });
    let health = Health::new();
    let mut registry = prometheus_client::registry::Registry::default();
    let ticker = TickLoop::new(
        HotPath {
            store: store.clone(),
            shared,
            limits: Limits::new(2_000_000, 0.9),
        },
        metrics_schema::InferenceMetrics::register(&mut registry),
        health.clone(),
        interval_us,
        Evaluator::new(10, 2, interval_us * 2),
        SloWindow::new(3_600_000_000),
    );
    let watcher = tokio::spawn(supervision::watch(
        health.clone(),
        ticker.liveness(),
        interval_us,
        shutdown.clone(),
    ));
    let ticks = tokio::spawn(ticker.run(shutdown.clone()));
    assert!(!health.is_ready(), "not ready before a tick");
    wait_health(&health, "ready and ticking", |h| {
        h.is_ready() && h.get(TICK_LOOP).is_some_and(|c| c.status == "ticking")
    })
    .await;

    store.hang.store(true, Ordering::Relaxed);
    let wedged = Instant::now();
    wait_health(&health, "tick_loop stalled", |h| {
        h.get(TICK_LOOP).is_some_and(|c| c.level == Level::Unhealthy)
    })
    .await;
    let after = wedged.elapsed();
    assert!(
        after >= Duration::from_millis(250),
        "unhealthy only after ~3 intervals without a completed tick, got {after:?}"
    );
    assert_eq!(health.report().status, Level::Unhealthy);
    assert!(!health.is_ready());

    shutdown.cancel();
    watcher.await.unwrap();
    ticks.abort();
}
