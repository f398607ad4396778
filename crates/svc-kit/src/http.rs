//! The operational HTTP server: `GET /metrics` (OpenMetrics text), `GET /health` (JSON),
//! `GET /ready`; other paths go to an optional service router, else 404. Connections are bounded
//! and headers must arrive within a timeout.

use crate::health::{Health, Level};
use crate::process::ProcessCollector;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::registry::Registry;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub type Body = BoxBody<Bytes, Infallible>;
pub type Request = hyper::Request<Incoming>;
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const MAX_CONNECTIONS: usize = 1024;
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long open connections (e.g. SSE streams) get to finish after shutdown starts.
const CONNECTION_DRAIN: Duration = Duration::from_secs(2);

/// Service-specific routes (e.g. the inference API).
pub trait Routes: Send + Sync + 'static {
    fn call(&self, req: Request) -> BoxFuture<Response<Body>>;
}

/// What the server needs to answer the operational endpoints.
pub struct HttpState {
    pub registry: Registry,
    pub health: Health,
    pub process: ProcessCollector,
    pub routes: Option<Arc<dyn Routes>>,
}

pub fn full(body: impl Into<Bytes>) -> Body {
    Full::new(body.into()).boxed()
}

/// A response with a body and content type.
pub fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

pub fn json(status: StatusCode, value: &impl serde::Serialize) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(b) => respond(status, "application/json", b),
        Err(_) => respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            "serialization error",
        ),
    }
}

pub fn not_found() -> Response<Body> {
    respond(StatusCode::NOT_FOUND, "text/plain", "not found\n")
}

pub fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut r = respond(
        StatusCode::METHOD_NOT_ALLOWED,
        "text/plain",
        "method not allowed\n",
    );
    r.headers_mut().insert(ALLOW, HeaderValue::from_static(allow));
    r
}

async fn handle(state: Arc<HttpState>, req: Request) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path();
    let ops = matches!(path, "/metrics" | "/health" | "/ready");
    if ops && req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(method_not_allowed("GET, HEAD"));
    }
    Ok(match path {
        "/metrics" => {
            state.process.refresh();
            respond(
                StatusCode::OK,
                OPENMETRICS,
                metrics_schema::encode(&state.registry),
            )
        }
        "/health" => {
            let report = state.health.report();
            let code = if report.status == Level::Unhealthy {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::OK
            };
            json(code, &report)
        }
        "/ready" => {
            if state.health.is_ready() {
                respond(StatusCode::OK, "text/plain", "ready\n")
            } else {
                respond(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "not ready\n")
            }
        }
        _ => match &state.routes {
            Some(r) => r.call(req).await,
            None => not_found(),
        },
    })
}

/// Bind the listener (so a caller learns the real port of `127.0.0.1:0` before serving).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serve until `shutdown` is cancelled, then give open connections a short drain.
pub async fn serve(listener: TcpListener, state: Arc<HttpState>, shutdown: CancellationToken) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let conns = tokio_util::task::TaskTracker::new();
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let (stream, _) = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let state = state.clone();
        let shutdown = shutdown.clone();
        conns.spawn(async move {
            let _permit = permit;
            let svc = service_fn(move |req| handle(state.clone(), req));
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(CONNECTION_DRAIN, conn).await;
                }
            }
        });
    }
    conns.close();
    let _ = tokio::time::timeout(CONNECTION_DRAIN * 2, conns.wait()).await;
}
