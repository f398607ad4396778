//! Composition root: metrics, health, the HTTP server, the Redis store, the shard gate (leases),
//! the Kinesis consumer and the processing pipeline. With Kinesis or Redis unreachable the service
//! still starts, serves metrics and reports health while it retries.

use crate::config::{Config, InitialPosition};
use crate::gate::{GateHandle, LeaseGate};
use crate::pipeline::Pipeline;
use crate::store::Store;
use kinesis_io::consumer::{ConsumerConfig, StartPosition};
use market::InstrumentScale;
use metrics_schema::AggregatorMetrics;
use std::sync::Arc;
use std::time::Duration;
use svc_kit::health::Level;
use svc_kit::runner::RunError;
use svc_kit::shell::Shell;

/// Batches in flight between the shard readers and the pipeline.
const BATCH_CHANNEL: usize = 16;

fn owner_id(cfg: &Config) -> String {
    if !cfg.lease.owner.is_empty() {
        return cfg.lease.owner.clone();
    }
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "aggregator".into());
    format!("{host}-{}", std::process::id())
}

pub async fn run(cfg: Config) -> Result<(), RunError> {
    let shutdown = svc_kit::shutdown::on_signals();
    let (shell, metrics) = Shell::start(
        cfg.http.listen,
        shutdown.clone(),
        AggregatorMetrics::register,
        None,
    )
    .await?;
    let health = shell.health.clone();
    health.set(
        "kinesis",
        Level::Degraded,
        "retrying",
        Some("no GetRecords answer yet".into()),
    );
    health.set(
        "redis",
        Level::Degraded,
        "disconnected",
        Some("not connected yet".into()),
    );
    health.set(
        "feature_pipeline",
        Level::Degraded,
        "stale",
        Some("anchor buffering epoch 1".into()),
    );
    health.set_ready(false);

    let env_password = std::env::var(svc_kit::ENV_REDIS_AUTH_TOKEN).ok();
    let store = match svc_kit::redis::fred_config(&cfg.redis, env_password)
        .map_err(|e| e.to_string())
        .and_then(|(config, source)| {
            tracing::info!(
                url = %cfg.redis.redacted_url(), user = cfg.redis.username.as_deref().unwrap_or("default"),
                password = source.as_str(), "redis client"
            );
            Store::connect(
                config,
                &cfg.symbol,
                InstrumentScale::BTCUSDT_SPOT,
                Duration::from_millis(cfg.flush.timeout_ms),
                metrics.clone(),
            )
            .map_err(|e| e.to_string())
        }) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            health.set("redis", Level::Unhealthy, "disconnected", Some(e.to_string()));
            tracing::error!(error = %e, "redis client could not be built");
            shutdown.cancelled().await;
            svc_kit::shutdown::drain(cfg.shutdown.drain_timeout(), shell.join()).await;
            return Ok(());
        }
    };
    let initial = match cfg.consumer.initial_position {
        InitialPosition::TrimHorizon => StartPosition::TrimHorizon,
        InitialPosition::Latest => StartPosition::Latest,
    };
    let gate = Arc::new(LeaseGate::new(
        store,
        owner_id(&cfg),
        Duration::from_millis(cfg.lease.ttl_ms),
        initial,
        metrics.clone(),
        health.clone(),
    ));
    let client = kinesis_io::client::build(&cfg.kinesis).await;
    let consumer_cfg = ConsumerConfig {
        stream_name: cfg.kinesis.stream_name.clone(),
        max_records_per_call: cfg.consumer.max_records_per_call,
        min_poll_interval: Duration::from_millis(cfg.consumer.min_poll_interval_ms),
        idle_poll_interval: Duration::from_millis(cfg.consumer.min_poll_interval_ms),
        shard_refresh: Duration::from_secs(cfg.consumer.shard_refresh_secs),
        ..ConsumerConfig::default()
    };
    let (tx, rx) = tokio::sync::mpsc::channel(BATCH_CHANNEL);
    let _records_depth = svc_kit::channel::export_depth(
        &tx,
        metrics_schema::labels::Channel::Records,
        &shell.common,
        Duration::from_secs(1),
    );
    let stop_reading = shutdown.child_token();
    let consumer = tokio::spawn(kinesis_io::consumer::run(
        client,
        consumer_cfg,
        Arc::new(GateHandle(gate.clone())),
        tx,
        stop_reading.clone(),
    ));
    tracing::info!(symbol = %cfg.symbol, stream = %cfg.kinesis.stream_name, "aggregator started");
    let drain = cfg.shutdown.drain_timeout();
    let pipeline = Pipeline::new(cfg, gate, metrics, health);
    let pipeline_stop = tokio_util::sync::CancellationToken::new();
    let mut pipeline_task = tokio::spawn(pipeline.run(rx, pipeline_stop.clone()));
    let mut pipeline_done = false;
    tokio::select! {
        biased;
        _ = shutdown.cancelled() => {}
        _ = &mut pipeline_task => {
            pipeline_done = true;
            tracing::error!("pipeline stopped unexpectedly");
            // Unhealthy: the container health check fails and the orchestrator replaces the task.
            shell.health.set("feature_pipeline", Level::Unhealthy, "failed", Some("pipeline task ended".into()));
            shell.health.set_ready(false);
            shutdown.cancelled().await;
        }
    }
    // Drain: stop reading, let the pipeline write a final flush (checkpoint) and release leases.
    stop_reading.cancel();
    pipeline_stop.cancel();
    let finish = async {
        let _ = consumer.await;
        if !pipeline_done {
            let _ = pipeline_task.await;
        }
        shell.join().await;
    };
    svc_kit::shutdown::drain(drain, finish).await;
    Ok(())
}
