//! What every service starts with: a frozen registry, health, the HTTP server and the
//! shutdown token.

use crate::health::Health;
use crate::http::{HttpState, Routes, bind, serve};
use crate::process::ProcessCollector;
use metrics_schema::CommonMetrics;
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub struct Shell {
    pub health: Health,
    pub common: CommonMetrics,
    pub shutdown: CancellationToken,
    pub local_addr: SocketAddr,
    http: JoinHandle<()>,
}

impl Shell {
    /// Register the common metrics and the service's own (via `register`), freeze the registry,
    /// bind `listen` and serve. `shutdown` is usually [`crate::shutdown::on_signals`].
    pub async fn start<M>(
        listen: SocketAddr,
        shutdown: CancellationToken,
        register: impl FnOnce(&mut Registry) -> M,
        routes: Option<Arc<dyn Routes>>,
    ) -> std::io::Result<(Shell, M)> {
        let mut registry = Registry::default();
        let common = CommonMetrics::register(&mut registry);
        let metrics = register(&mut registry);
        let health = Health::new();
        let state = Arc::new(HttpState {
            registry,
            health: health.clone(),
            process: ProcessCollector::new(common.clone()),
            routes,
        });
        let listener = bind(listen).await?;
        let local_addr = listener.local_addr()?;
        tracing::info!(%local_addr, "serving /metrics /health /ready");
        let http = tokio::spawn(serve(listener, state, shutdown.clone()));
        Ok((
            Shell {
                health,
                common,
                shutdown,
                local_addr,
                http,
            },
            metrics,
        ))
    }

    /// Wait for the HTTP server to finish after shutdown was requested.
    pub async fn join(self) {
        let _ = self.http.await;
    }
}
