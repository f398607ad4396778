//! Hostile or broken input from the exchange side: a huge `Retry-After` from the simulator, a
//! snapshot request that can never be satisfied, an oversized WebSocket message and an endless
//! REST body. None may panic, wrap, hang or go uncounted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use exchange_sim::{Fault, Simulator, Speed};
use futures_util::SinkExt;
use ingestor::ingest::{SnapshotReason, SnapshotRequest};
use ingestor::metrics::HotMetrics;
use ingestor::rest::{RestClient, RestError, RestParams};
use ingestor::snapshot::SnapshotTask;
use metrics_schema::IngestorMetrics;
use metrics_schema::labels::{HttpStatus, IngestorTask, InputSource, LabelValue, RestEndpoint, TaskExit};
use metrics_schema::services::ingestor::{InputSourceLabels, RestCallLabels, TaskExitLabels};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use svc_kit::backoff::Backoff;
use svc_kit::health::Level;
use svc_kit::testing::servers::Kinesalite;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

fn calls(m: &IngestorMetrics, status: HttpStatus) -> u64 {
    m.rest_api_calls
        .get_or_create(&RestCallLabels {
            endpoint: RestEndpoint::Depth,
            status,
        })
        .get()
}

fn task_exits(m: &IngestorMetrics) -> u64 {
    let mut n = 0;
    for &task in IngestorTask::ALL {
        for &outcome in TaskExit::ALL {
            n += m
                .task_exits
                .get_or_create(&TaskExitLabels { task, outcome })
                .get();
        }
    }
    n
}

fn oversized(m: &IngestorMetrics, source: InputSource) -> u64 {
    m.oversized_inputs
        .get_or_create(&InputSourceLabels { source })
        .get()
}

/// The reproduction of issue 14's report: a 429 whose `Retry-After` does not fit the clock
/// panicked the snapshot task (`Instant + Duration` overflow) while `/health` stayed 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_retry_after_from_the_exchange_is_clamped_and_the_snapshot_task_survives() {
    let mut sim = sim_config(synthetic());
    sim.speed = Speed::Factor(20.0);
    sim.faults = vec![Fault::Rest {
        status: 429,
        count: 1,
        retry_after_secs: Some(u64::MAX),
    }];
    let mut rig = Rig::start(sim, |_| {}).await;
    let m = rig.m().clone();
    wait_until(Duration::from_secs(20), "the 429", || {
        calls(&m, HttpStatus::TooManyRequests) == 1
    })
    .await;
    // Bounded negative check: for 2 s no task may end and /health must not turn unhealthy.
    let until = tokio::time::Instant::now() + Duration::from_secs(2);
    while tokio::time::Instant::now() < until {
        let report = rig.health().report();
        assert!(
            report.status != Level::Unhealthy && task_exits(&m) == 0,
            "a task died after the 429: {:?}",
            report.components
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rig.health().get("tasks").map(|c| c.level), Some(Level::Healthy));
    rig.stop_and_read().await;
    assert_eq!(task_exits(&m), 0);
}

/// A request for an update id the exchange never reaches used to be retried every 200 ms
/// forever; it must expire after `rest.snapshot_request_max_age_secs` and be counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_request_that_can_never_be_satisfied_expires_and_is_counted() {
    let mut sim = sim_config(synthetic());
    sim.speed = Speed::Factor(20.0);
    let sim = Simulator::start(sim).await.unwrap();
    let m = IngestorMetrics::register(&mut Registry::default());
    let rest = RestClient::new(
        RestParams {
            base_url: sim.http_url(),
            timeout: Duration::from_secs(2),
            weight_budget: 6000,
            breaker_failures: 5,
            breaker_cooldown: Duration::from_secs(1),
            max_body_bytes: 4 << 20,
        },
        ingestor::tls::client_config().unwrap(),
        None,
        m.clone(),
    )
    .unwrap();
    let (events, mut events_rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move { while events_rx.recv().await.is_some() {} });
    let task = SnapshotTask {
        rest,
        depth_limit: 100,
        interval: None,
        symbols: vec![Arc::from("BTCUSDT")],
        events,
        epoch: Arc::new(AtomicU64::new(1)),
        metrics: HotMetrics::new(m.clone()),
        backoff: Backoff::new(Duration::from_millis(50), Duration::from_millis(200)),
        max_request_age: Duration::from_secs(1),
    };
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(task.run(rx, shutdown.clone()));
    tx.send(SnapshotRequest {
        symbol: Arc::from("BTCUSDT"),
        reason: SnapshotReason::Gap,
        min_update_id: Some(i64::MAX),
    })
    .await
    .unwrap();
    wait_until(Duration::from_secs(10), "the request expired", || {
        m.snapshot_requests_expired.get() == 1
    })
    .await;
    let asked = calls(&m, HttpStatus::Ok);
    assert!(asked >= 2, "it was retried while young: {asked} calls");
    // Bounded negative check: no more requests once it expired (one may be in flight).
    let until = tokio::time::Instant::now() + Duration::from_secs(1);
    while tokio::time::Instant::now() < until {
        assert!(
            calls(&m, HttpStatus::Ok) <= asked + 1,
            "still fetching after expiry"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    handle.await.unwrap();
}

/// A local WebSocket server that sends one `big`-byte binary message per connection, then keeps
/// the connection alive with pings. Returns its URL and the connection count.
async fn ws_server(big: usize) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let conns = Arc::new(AtomicUsize::new(0));
    let c = conns.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                if ws.send(Message::Binary(vec![0u8; big].into())).await.is_err() {
                    return;
                }
                loop {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    if ws.send(Message::Ping(Vec::new().into())).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, conns)
}

/// tungstenite's default accepts 64 MiB messages; the cap is `exchange.max_message_bytes`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_websocket_message_is_refused_counted_and_the_stream_reconnects() {
    let (url, conns) = ws_server(2 << 20).await;
    let kinesalite = Kinesalite::start().unwrap();
    let client = kinesis_io::client::build_local(&kinesalite.endpoint()).await;
    create_stream(&client, STREAM).await;
    let mut cfg = ingestor::config::Config::default();
    cfg.http.listen = ([127, 0, 0, 1], 0).into();
    cfg.exchange.ws_url = url;
    cfg.exchange.rest_url = "http://127.0.0.1:9".into();
    cfg.exchange.ping_interval_secs = 0.5;
    cfg.exchange.idle_timeout_secs = 1.5;
    cfg.exchange.reconnect_backoff_base_ms = 50;
    cfg.exchange.reconnect_backoff_max_ms = 200;
    cfg.exchange.max_message_bytes = 1 << 20;
    cfg.rest.snapshot_interval_secs = 0.0;
    cfg.kinesis.endpoint_url = Some(kinesalite.endpoint());
    let shutdown = CancellationToken::new();
    let running = ingestor::app::start(cfg, client, shutdown.clone()).await.unwrap();
    let m = running.metrics.clone();
    wait_until(
        Duration::from_secs(15),
        "oversize counted and a reconnect",
        || oversized(&m, InputSource::Websocket) >= 1 && conns.load(Ordering::SeqCst) >= 2,
    )
    .await;
    shutdown.cancel();
    running.stop().await;
}

/// A server whose 200 body never ends: the client must stop reading at `max_body_bytes`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_rest_body_is_cut_at_the_limit_and_counted() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let written = Arc::new(AtomicUsize::new(0));
    let w = written.clone();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let w = w.clone();
            tokio::spawn(async move {
                let mut head = [0u8; 4096];
                let _ = tokio::io::AsyncReadExt::read(&mut tcp, &mut head).await;
                let hdr =
                    "HTTP/1.1 200 OK\r\ncontent-type: application/sbe\r\ntransfer-encoding: chunked\r\n\r\n";
                if tcp.write_all(hdr.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
                while tcp.write_all(chunk.as_bytes()).await.is_ok() {
                    w.fetch_add(0x10000, Ordering::SeqCst);
                }
            });
        }
    });
    let m = IngestorMetrics::register(&mut Registry::default());
    let mut rest = RestClient::new(
        RestParams {
            base_url: format!("http://{addr}"),
            timeout: Duration::from_secs(5),
            weight_budget: 6000,
            breaker_failures: 5,
            breaker_cooldown: Duration::from_secs(1),
            max_body_bytes: 256 << 10,
        },
        ingestor::tls::client_config().unwrap(),
        None,
        m.clone(),
    )
    .unwrap();
    let got = rest.depth("BTCUSDT", 100).await;
    assert!(matches!(got, Err(RestError::TooLarge(_))), "{got:?}");
    assert_eq!(oversized(&m, InputSource::Rest), 1);
    let sent = written.load(Ordering::SeqCst);
    assert!(
        sent < 16 << 20,
        "the client read {sent} bytes of a 256 KiB-limited body"
    );
}
