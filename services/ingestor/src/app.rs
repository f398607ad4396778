//! Composition root: metrics, health and the HTTP server. The stream client and Kinesis producer
//! join here when they land; until then health says so rather than inventing values.

use crate::config::Config;
use metrics_schema::IngestorMetrics;
use svc_kit::health::Level;
use svc_kit::runner::RunError;
use svc_kit::shell::Shell;

pub async fn run(cfg: Config) -> Result<(), RunError> {
    let shutdown = svc_kit::shutdown::on_signals();
    let (shell, metrics) =
        Shell::start(cfg.http.listen, shutdown.clone(), IngestorMetrics::register, None).await?;
    metrics.sbe_connection_status.set(0.0);
    shell.health.set(
        "stream",
        Level::Unhealthy,
        "disconnected",
        Some("stream client not running".into()),
    );
    shell.health.set_ready(false);
    tracing::info!(symbols = ?cfg.exchange.symbols, stream = %cfg.kinesis.stream_name, "ingestor started");
    shutdown.cancelled().await;
    svc_kit::shutdown::drain(cfg.shutdown.drain_timeout(), shell.join()).await;
    Ok(())
}
