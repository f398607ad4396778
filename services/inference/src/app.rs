//! Composition root: metrics, health and the HTTP server. The model, tick loop and API join here
//! when they land; until then health says so rather than inventing values.

use crate::config::Config;
use metrics_schema::InferenceMetrics;
use svc_kit::health::Level;
use svc_kit::runner::RunError;
use svc_kit::shell::Shell;

pub async fn run(cfg: Config) -> Result<(), RunError> {
    let shutdown = svc_kit::shutdown::on_signals();
    let (shell, _metrics) = Shell::start(
        cfg.http.listen,
        shutdown.clone(),
        InferenceMetrics::register,
        None,
    )
    .await?;
    shell.health.set(
        "model_status",
        Level::Unhealthy,
        "unhealthy",
        Some("model not loaded".into()),
    );
    shell.health.set_ready(false);
    tracing::info!(model = %cfg.model.path.display(), "inference started");
    shutdown.cancelled().await;
    svc_kit::shutdown::drain(cfg.shutdown.drain_timeout(), shell.join()).await;
    Ok(())
}
