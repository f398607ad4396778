//! The simulator server: one loopback port for WebSocket streams, REST and the admin API.

pub mod admin;
pub mod control;
mod exchange_info;
pub mod http;
pub mod limits;
pub mod rest;
mod session;
pub mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::{SimConfig, SourceConfig};
use crate::faults::Fault;
use crate::feed::{self, Source, SourceError};
use crate::hub::{Shared, apply_fault};
use crate::replay::ReplaySource;
use crate::stats::StatsSnapshot;
use crate::synthetic::SyntheticSource;
use http::{Body, json_error};

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("source: {0}")]
    Source(#[from] SourceError),
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// Entry point.
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Binds, starts the feed and the server, and returns at once.
    pub async fn start(cfg: SimConfig) -> Result<SimHandle, StartError> {
        if cfg.symbol.is_empty()
            || !cfg
                .symbol
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return Err(StartError::Config(format!(
                "symbol `{}` is not like BTCUSDT",
                cfg.symbol
            )));
        }
        let source = build_source(&cfg)?;
        let listener = TcpListener::bind(cfg.listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: cfg.listen,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: cfg.listen,
            source,
        })?;
        let faults = cfg.faults.clone();
        let shared = Shared::new(cfg);
        for f in &faults {
            apply_fault(&shared, f);
        }
        let feed = tokio::spawn(feed::run(Arc::clone(&shared), source));
        let server = tokio::spawn(accept_loop(Arc::clone(&shared), listener));
        tracing::info!(%local_addr, "exchange simulator listening");
        Ok(SimHandle {
            local_addr,
            shared,
            feed,
            server,
        })
    }
}

fn build_source(cfg: &SimConfig) -> Result<Box<dyn Source>, StartError> {
    Ok(match &cfg.source {
        SourceConfig::Replay { files } => {
            if files.is_empty() {
                return Err(StartError::Config("--replay needs at least one file".into()));
            }
            Box::new(ReplaySource::new(files.clone())?)
        }
        SourceConfig::Synthetic {
            seed,
            start_time_us,
            params,
        } => Box::new(SyntheticSource::new(
            *seed,
            start_time_us.unwrap_or_else(crate::hub::now_us),
            params.clone(),
            cfg.symbol.clone(),
        )),
    })
}

/// A running simulator.
#[derive(Debug)]
pub struct SimHandle {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    feed: JoinHandle<()>,
    server: JoinHandle<()>,
}

impl SimHandle {
    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `ws://<addr>` base URL.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.local_addr)
    }

    /// `http://<addr>` base URL.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// Current counters (same as `GET /admin/stats`).
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// Applies a fault now (same as `POST /admin/fault`).
    pub fn inject(&self, fault: &Fault) {
        apply_fault(&self.shared, fault);
    }

    /// Waits until the source has ended (replay without `--loop`), up to `timeout`.
    pub async fn wait_source_finished(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.stats().source.finished {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    /// Stops everything: sessions get a close frame, the feed and the listener end.
    pub async fn shutdown(self) {
        self.shared.shutdown.cancel();
        let _ = self.feed.await;
        let _ = self.server.await;
    }

    /// Resolves when shutdown has been requested (e.g. by [`SimHandle::shutdown`] from elsewhere).
    pub fn shutdown_token(&self) -> tokio_util::sync::CancellationToken {
        self.shared.shutdown.clone()
    }
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shared.shutdown.cancelled() => return,
        };
        let _ = stream.set_nodelay(true);
        let conn_shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let shared = Arc::clone(&conn_shared);
                async move { Ok::<_, std::convert::Infallible>(route(&shared, peer, req).await) }
            });
            let conn = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades();
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "http connection ended with an error");
            }
        });
    }
}

async fn route(
    shared: &Arc<Shared>,
    peer: SocketAddr,
    req: Request<hyper::body::Incoming>,
) -> Response<Body> {
    let path = req.uri().path();
    if ws::is_ws_path(path) {
        ws::upgrade(shared, req)
    } else if path.starts_with("/api/") {
        rest::handle(shared, peer.ip(), req).await
    } else if path.starts_with("/admin/") {
        admin::handle(shared, req).await
    } else {
        json_error(StatusCode::NOT_FOUND, -1, "not found")
    }
}
