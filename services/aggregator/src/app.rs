//! Composition root: metrics, health and the HTTP server. The Kinesis consumer, book and Redis
//! writer join here when they land; until then health says so rather than inventing values.

use crate::config::Config;
use metrics_schema::AggregatorMetrics;
use svc_kit::health::Level;
use svc_kit::runner::RunError;
use svc_kit::shell::Shell;

pub async fn run(cfg: Config) -> Result<(), RunError> {
    let shutdown = svc_kit::shutdown::on_signals();
    let (shell, _metrics) = Shell::start(
        cfg.http.listen,
        shutdown.clone(),
        AggregatorMetrics::register,
        None,
    )
    .await?;
    shell.health.set(
        "feature_pipeline",
        Level::Unhealthy,
        "failed",
        Some("consumer not running".into()),
    );
    shell.health.set_ready(false);
    tracing::info!(symbol = %cfg.symbol, stream = %cfg.kinesis.stream_name, "aggregator started");
    shutdown.cancelled().await;
    svc_kit::shutdown::drain(cfg.shutdown.drain_timeout(), shell.join()).await;
    Ok(())
}
