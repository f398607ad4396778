#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The operational endpoints over real HTTP on 127.0.0.1:0.

use http_body_util::{BodyExt, Empty};
use metrics_schema::{CommonMetrics, IngestorMetrics};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use svc_kit::health::{Health, Level};
use svc_kit::http::{HttpState, bind, serve};
use svc_kit::process::ProcessCollector;
use tokio_util::sync::CancellationToken;

async fn get(addr: std::net::SocketAddr, method: &str, path: &str) -> (u16, String, String) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut tx, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let resp = tx.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    (status, ct, body)
}

async fn start() -> (
    std::net::SocketAddr,
    Health,
    IngestorMetrics,
    CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let mut registry = Registry::default();
    let common = CommonMetrics::register(&mut registry);
    let metrics = IngestorMetrics::register(&mut registry);
    let health = Health::new();
    let state = Arc::new(HttpState {
        registry,
        health: health.clone(),
        process: ProcessCollector::new(common),
        routes: None,
    });
    let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = CancellationToken::new();
    let task = tokio::spawn(serve(listener, state, token.clone()));
    (addr, health, metrics, token, task)
}

#[tokio::test]
async fn metrics_endpoint_serves_openmetrics_with_live_values_and_process_metrics() {
    let (addr, _h, m, token, task) = start().await;
    m.sbe_reconnections.inc();
    let (status, ct, body) = get(addr, "GET", "/metrics").await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    assert!(body.contains("ingestor_sbe_reconnections_total 1"), "{body}");
    assert!(body.contains("process_resident_memory_bytes "), "{body}");
    assert!(body.ends_with("# EOF\n"));
    token.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn health_reports_components_and_ready_follows_state() {
    let (addr, h, _m, token, task) = start().await;
    let (status, _, _) = get(addr, "GET", "/ready").await;
    assert_eq!(status, 503, "not ready before the service says so");
    h.set("stream", Level::Healthy, "connected", None);
    h.set("kinesis", Level::Degraded, "retrying", Some("throttled".into()));
    h.set_ready(true);
    let (status, ct, body) = get(addr, "GET", "/health").await;
    assert_eq!((status, ct.as_str()), (200, "application/json"));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "degraded");
    assert_eq!(v["components"]["stream"]["status"], "connected");
    assert_eq!(v["components"]["kinesis"]["detail"], "throttled");
    assert_eq!(get(addr, "GET", "/ready").await.0, 200);
    h.set("stream", Level::Unhealthy, "disconnected", None);
    assert_eq!(get(addr, "GET", "/health").await.0, 503);
    assert_eq!(get(addr, "GET", "/ready").await.0, 503);
    token.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_are_405() {
    let (addr, _h, _m, token, task) = start().await;
    assert_eq!(get(addr, "GET", "/nope").await.0, 404);
    assert_eq!(get(addr, "POST", "/metrics").await.0, 405);
    token.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn shutdown_stops_accepting_connections() {
    let (addr, _h, _m, token, task) = start().await;
    token.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[test]
fn healthcheck_subcommand_passes_on_healthy_and_fails_on_unhealthy_or_unreachable() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (addr, h, _m, token, task) = rt.block_on(start());
    let url = format!("http://{addr}/health");
    h.set("redis", Level::Healthy, "connected", None);
    assert_eq!(svc_kit::cli::healthcheck(&url), std::process::ExitCode::SUCCESS);
    h.set("redis", Level::Unhealthy, "disconnected", None);
    assert_eq!(svc_kit::cli::healthcheck(&url), std::process::ExitCode::FAILURE);
    token.cancel();
    rt.block_on(task).unwrap();
    assert_eq!(svc_kit::cli::healthcheck(&url), std::process::ExitCode::FAILURE);
}
