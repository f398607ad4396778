#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Resource limits of the operational server over real sockets: the ops endpoints keep answering
//! while API clients hold every connection, idle keep-alive connections are closed, and a client
//! that stops reading a response is cut off.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::{Body as HttpBody, Frame};
use hyper::{Response, StatusCode};
use metrics_schema::CommonMetrics;
use prometheus_client::registry::Registry;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use svc_kit::health::{Health, Level};
use svc_kit::http::{Body, BoxFuture, HttpState, Request, Routes, ServerLimits, bind, serve_with};
use svc_kit::process::ProcessCollector;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// An endless response body (like an SSE stream to a client that never reads).
struct Endless;

impl HttpBody for Endless {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'x'; 64 * 1024])))))
    }
}

/// `/api/hang` never answers; `/api/stream` streams forever.
struct Api;

impl Routes for Api {
    fn call(&self, req: Request) -> BoxFuture<Response<Body>> {
        let path = req.uri().path().to_string();
        Box::pin(async move {
            match path.as_str() {
                "/api/stream" => Response::new(Endless.boxed()),
                _ => std::future::pending().await,
            }
        })
    }
}

async fn start(limits: ServerLimits) -> (SocketAddr, Health, CancellationToken) {
    let mut registry = Registry::default();
    let common = CommonMetrics::register(&mut registry);
    let health = Health::new();
    health.set("stream", Level::Healthy, "connected", None);
    let state = Arc::new(HttpState {
        registry,
        health: health.clone(),
        process: ProcessCollector::new(common),
        routes: Some(Arc::new(Api)),
    });
    let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = CancellationToken::new();
    tokio::spawn(serve_with(listener, state, token.clone(), limits));
    (addr, health, token)
}

async fn get(addr: SocketAddr, path: &str) -> u16 {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut tx, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::get(path)
        .header("host", "localhost")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = tx.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let _ = resp.into_body().collect().await;
    status
}

/// Opens `n` connections, each with an API request in flight that never completes.
async fn hold(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..n {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /api/hang HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        held.push(s);
    }
    held
}

#[tokio::test]
async fn health_and_metrics_answer_while_api_clients_hold_every_connection() {
    let limits = ServerLimits {
        max_connections: 8,
        header_read_timeout: Duration::from_secs(30),
        ..ServerLimits::default()
    };
    let (addr, _health, token) = start(limits).await;
    let _held = hold(addr, limits.max_connections).await;
    for path in ["/health", "/metrics", "/ready", "/health"] {
        let got = tokio::time::timeout(Duration::from_secs(3), get(addr, path)).await;
        let status = got.unwrap_or_else(|_| panic!("{path} did not answer with every connection held"));
        assert!(
            status == 200 || (path == "/ready" && status == 503),
            "{path}: {status}"
        );
    }
    let api = tokio::time::timeout(Duration::from_secs(3), get(addr, "/api/hang"))
        .await
        .expect("an API request beyond the budget is refused, not queued");
    assert_eq!(api, StatusCode::SERVICE_UNAVAILABLE.as_u16());
    token.cancel();
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let limits = ServerLimits {
        header_read_timeout: Duration::from_millis(500),
        ..ServerLimits::default()
    };
    let (addr, _health, token) = start(limits).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Keep-alive: the server waits for the next request, but not forever.
    let eof = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(eof.is_ok(), "an idle keep-alive connection stayed open");
    token.cancel();
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_off_by_the_write_timeout() {
    let limits = ServerLimits::default();
    let (addr, _health, token) = start(limits).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /api/stream HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    // The fault: the client stops reading for longer than the default write timeout (10 s), so
    // the socket buffers fill and the server's write stays pending. The server must then drop
    // the connection: reading what was buffered reaches EOF (or a reset) instead of going on.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let mut buf = vec![0u8; 1 << 20];
    let cut = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(cut.is_ok(), "a stalled reader kept its connection");
    token.cancel();
}
