//! The operational HTTP server: `GET /metrics` (OpenMetrics text), `GET /health` (JSON),
//! `GET /ready`; other paths go to an optional service router, else 404.
//!
//! Limits ([`ServerLimits`]): at most `max_connections` connections serve any route; when API
//! clients hold all of them, up to `ops_reserve` more connections are still accepted but answer
//! only `/health`, `/ready` and `/metrics` (any other path: 503, and the connection closes after
//! one request), so probes and scrapes keep working under connection exhaustion. Headers (and,
//! on a keep-alive connection, the next request) must arrive within `header_read_timeout`; a
//! write that stays pending longer than `write_timeout` (a client that stopped reading) drops
//! the connection.

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
const OPS_RESERVE: usize = 32;
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
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

/// Which routes a connection may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Budget {
    /// Within `max_connections`: every route.
    Full,
    /// From the ops reserve: only the operational endpoints.
    OpsOnly,
}

async fn handle(state: Arc<HttpState>, req: Request, budget: Budget) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path();
    let ops = matches!(path, "/metrics" | "/health" | "/ready");
    if ops && req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(method_not_allowed("GET, HEAD"));
    }
    if !ops && budget == Budget::OpsOnly {
        return Ok(respond(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "server busy: every connection is in use\n",
        ));
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

/// Connection limits and timeouts of the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    /// Connections serving any route.
    pub max_connections: usize,
    /// Extra connections for `/health`, `/ready` and `/metrics` only, used once
    /// `max_connections` are taken.
    pub ops_reserve: usize,
    /// Time for a request's headers to arrive; also the keep-alive idle timeout.
    pub header_read_timeout: Duration,
    /// Longest a single write may stay pending before the connection is dropped.
    pub write_timeout: Duration,
}

impl Default for ServerLimits {
    /// 1024 connections + 32 for ops, 5 s header / idle timeout, 10 s write timeout.
    fn default() -> Self {
        Self {
            max_connections: MAX_CONNECTIONS,
            ops_reserve: OPS_RESERVE,
            header_read_timeout: HEADER_TIMEOUT,
            write_timeout: WRITE_TIMEOUT,
        }
    }
}

/// Serve until `shutdown` is cancelled, then give open connections a short drain.
pub async fn serve(listener: TcpListener, state: Arc<HttpState>, shutdown: CancellationToken) {
    serve_with(listener, state, shutdown, ServerLimits::default()).await;
}

/// [`serve`] with explicit limits.
pub async fn serve_with(
    listener: TcpListener,
    state: Arc<HttpState>,
    shutdown: CancellationToken,
    limits: ServerLimits,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let reserve = Arc::new(Semaphore::new(limits.ops_reserve));
    let conns = tokio_util::task::TaskTracker::new();
    loop {
        // A full-budget permit when one is free, else one from the ops reserve.
        let (permit, budget) = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            p = permits.clone().acquire_owned() => match p { Ok(p) => (p, Budget::Full), Err(_) => break },
            p = reserve.clone().acquire_owned() => match p { Ok(p) => (p, Budget::OpsOnly), Err(_) => break },
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
            let svc = service_fn(move |req| handle(state.clone(), req, budget));
            let io = crate::io_timeout::WriteTimeout::new(stream, limits.write_timeout);
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .keep_alive(budget == Budget::Full)
                .serve_connection(TokioIo::new(io), svc);
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
