//! Composition root: metrics, health and the HTTP server; the stream client, snapshot task,
//! optional control reader and recorder; the Kinesis producer. [`start`] takes the Kinesis client
//! so tests can point it at kinesalite.

use crate::assembler::{RecordAssembler, record_overhead};
use crate::config::{Config, secs};
use crate::forward::Forwarder;
use crate::ingest::Ingest;
use crate::metrics::HotMetrics;
use crate::ratelimit::RollingWindow;
use crate::rest::{RestClient, RestParams};
use crate::snapshot::SnapshotTask;
use crate::status::{Monitor, Shared, StreamStatus};
use crate::stream::{StreamClient, StreamParams, stream_url};
use crate::supervise::Supervisor;
use kinesis_io::producer::{Producer, ProducerConfig, ProducerStats};
use metrics_schema::IngestorMetrics;
use metrics_schema::labels::IngestorTask;
use std::sync::Arc;
use std::time::Duration;
use svc_kit::backoff::Backoff;
use svc_kit::health::{Health, Level};
use svc_kit::runner::RunError;
use svc_kit::shell::Shell;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub async fn run(cfg: Config) -> Result<(), RunError> {
    let shutdown = svc_kit::shutdown::on_signals();
    let client = kinesis_io::client::build(&cfg.kinesis).await;
    let running = start(cfg, client, shutdown.clone()).await?;
    shutdown.cancelled().await;
    running.stop().await;
    Ok(())
}

/// A started ingestor.
pub struct Running {
    pub local_addr: std::net::SocketAddr,
    pub metrics: IngestorMetrics,
    pub health: Health,
    shell: Shell,
    drain: Duration,
    /// The supervisor's watcher: ends once every supervised task has ended.
    tasks: JoinHandle<()>,
    /// Every supervised task but the producer.
    inputs: tokio_util::task::TaskTracker,
    producer_stop: CancellationToken,
    producer: tokio::sync::oneshot::Receiver<ProducerStats>,
}

/// The API key from `exchange.api_key_file`, else `BINANCE_API_KEY` (never logged).
fn api_key(cfg: &Config) -> Result<Option<Arc<str>>, RunError> {
    let raw = match &cfg.exchange.api_key_file {
        Some(p) => Some(
            std::fs::read_to_string(p).map_err(|e| format!("exchange.api_key_file {}: {e}", p.display()))?,
        ),
        None => std::env::var("BINANCE_API_KEY").ok(),
    };
    Ok(raw
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .map(Arc::from))
}

pub async fn start(
    cfg: Config,
    kinesis: aws_sdk_kinesis::Client,
    shutdown: CancellationToken,
) -> Result<Running, RunError> {
    let (shell, metrics) =
        Shell::start(cfg.http.listen, shutdown.clone(), IngestorMetrics::register, None).await?;
    let hot = HotMetrics::new(metrics.clone());
    metrics.sbe_connection_status.set(0.0);
    metrics.buffer_depth.set(0.0);
    let health = shell.health.clone();
    health.set(
        "stream",
        Level::Degraded,
        "disconnected",
        Some("connecting".into()),
    );
    health.set_ready(false);

    let api_key = api_key(&cfg)?;
    if api_key.is_none() {
        tracing::warn!(
            "no API key (BINANCE_API_KEY or exchange.api_key_file): Binance rejects SBE streams without one"
        );
    }
    let tls = crate::tls::client_config().map_err(|e| format!("TLS: {e}"))?;
    let x = &cfg.exchange;
    let p = &cfg.producer;

    // Kinesis producer.
    let producer_stop = CancellationToken::new();
    let (tx, rx) = tokio::sync::mpsc::channel(p.channel_capacity);
    let _events_depth = svc_kit::channel::export_depth(
        &tx,
        metrics_schema::labels::Channel::Events,
        &shell.common,
        Duration::from_secs(1),
    );
    let pcfg = ProducerConfig {
        stream_name: cfg.kinesis.stream_name.clone(),
        linger: Duration::from_millis(p.linger_ms),
        max_buffered_events: p.max_buffered_events,
        backoff_base: Duration::from_millis(p.backoff_base_ms),
        backoff_max: Duration::from_millis(p.backoff_max_ms),
        ..ProducerConfig::default()
    };
    let max_event_bytes = pcfg.max_record_bytes.saturating_sub(record_overhead());
    let producer_id = rand::random::<u64>();
    let assembler = RecordAssembler::new(producer_id, Some(hot.clone()));
    let drain = cfg.shutdown.drain_timeout();
    let mut supervisor = Supervisor::new(health.clone(), metrics.clone());
    let (stats_tx, producer) = tokio::sync::oneshot::channel();
    let producer_run = Producer::new(kinesis, pcfg, assembler, metrics.clone()).run(
        rx,
        producer_stop.clone(),
        drain
            .saturating_sub(Duration::from_secs(2))
            .max(Duration::from_secs(1)),
    );
    // The producer may end once shutdown started (its input closes when the stream client ends);
    // an end before that is a failure.
    supervisor.spawn_last(IngestorTask::Producer, &shutdown, async move {
        let _ = stats_tx.send(producer_run.await);
    });

    // Snapshots.
    let shared = Arc::new(Shared::default());
    shared
        .down_since_ns
        .store(crate::clock::now_ns(), std::sync::atomic::Ordering::Release);
    let symbols: Vec<Arc<str>> = x.symbols.iter().map(|s| Arc::from(s.as_str())).collect();
    let (snap_tx, snap_rx) = tokio::sync::mpsc::channel(64);
    let rest = RestClient::new(
        RestParams {
            base_url: x.rest_url.clone(),
            timeout: secs(cfg.rest.timeout_secs),
            weight_budget: cfg.rest.weight_budget,
            breaker_failures: cfg.rest.breaker_failures,
            breaker_cooldown: secs(cfg.rest.breaker_cooldown_secs),
            max_body_bytes: cfg.rest.max_body_bytes,
        },
        tls.clone(),
        api_key.clone(),
        metrics.clone(),
    )?;
    let wants_depth = x.streams.iter().any(|s| s == "depth");
    let snapshots = SnapshotTask {
        rest,
        depth_limit: cfg.rest.depth_limit,
        interval: (wants_depth && cfg.rest.snapshot_interval_secs > 0.0)
            .then(|| secs(cfg.rest.snapshot_interval_secs)),
        symbols: symbols.clone(),
        events: tx.clone(),
        epoch: shared.epoch.clone(),
        metrics: hot.clone(),
        backoff: Backoff::new(
            Duration::from_millis(cfg.rest.retry_backoff_base_ms),
            Duration::from_millis(cfg.rest.retry_backoff_max_ms),
        ),
        max_request_age: secs(cfg.rest.snapshot_request_max_age_secs),
    };
    supervisor.spawn(
        IngestorTask::Snapshot,
        &shutdown,
        snapshots.run(snap_rx, shutdown.clone()),
    );

    if let Some(redis) = cfg.control.redis() {
        supervisor.spawn(
            IngestorTask::Control,
            &shutdown,
            crate::control::run(
                redis,
                symbols.clone(),
                snap_tx.clone(),
                health.clone(),
                metrics.clone(),
                shutdown.clone(),
            ),
        );
    }

    let retention = crate::retention::Retention {
        max_age_hours: cfg.recorder.max_age_hours,
        max_bytes: cfg.recorder.max_bytes,
    };
    let recorder = match &cfg.recorder.dir {
        Some(dir) => {
            let (h, writer) = crate::recorder::open(dir.clone(), retention, Some(metrics.clone()))
                .map_err(|e| format!("recorder {}: {e}", dir.display()))?;
            supervisor.spawn_blocking(IngestorTask::Recorder, &shutdown, writer);
            tracing::info!(dir = %dir.display(), "recording raw frames");
            Some(h)
        }
        None => None,
    };

    let stream = StreamClient {
        params: StreamParams {
            url: stream_url(&x.ws_url, &x.symbols, &x.streams),
            api_key,
            idle_timeout: secs(x.idle_timeout_secs),
            max_age: secs(x.max_connection_age_secs),
            connect_timeout: secs(x.connect_timeout_secs),
            backoff: Backoff::new(
                Duration::from_millis(x.reconnect_backoff_base_ms),
                Duration::from_millis(x.reconnect_backoff_max_ms),
            ),
            connects: RollingWindow::new(x.connect_limit as usize, secs(x.connect_window_secs)),
            messages: RollingWindow::new(
                x.message_limit as usize,
                Duration::from_millis(x.message_window_ms),
            ),
            tls,
            max_message_bytes: x.max_message_bytes,
        },
        ingest: Ingest::new(&x.symbols, wants_depth, max_event_bytes, hot.clone()),
        forward: Forwarder::new(tx, Duration::from_millis(p.max_block_ms), hot.clone()),
        snapshots: snap_tx,
        status: StreamStatus {
            shared: shared.clone(),
            metrics: hot.clone(),
            health: health.clone(),
            symbols: x.symbols.len(),
            drop_marker_pending: false,
        },
        recorder,
    };
    supervisor.spawn(IngestorTask::Stream, &shutdown, stream.run(shutdown.clone()));
    let monitor = Monitor {
        shared,
        metrics: hot,
        health: health.clone(),
        unhealthy_after: secs(x.unhealthy_after_secs),
        stale_after: secs(x.idle_timeout_secs),
    };
    supervisor.spawn(IngestorTask::Monitor, &shutdown, monitor.run(shutdown.clone()));
    let inputs = supervisor.inputs();
    let tasks = tokio::spawn(supervisor.watch());
    tracing::info!(symbols = ?x.symbols, stream = %cfg.kinesis.stream_name, producer_id, "ingestor started");
    Ok(Running {
        local_addr: shell.local_addr,
        metrics,
        health,
        shell,
        drain,
        tasks,
        inputs,
        producer_stop,
        producer,
    })
}

impl Running {
    /// After the shutdown token was cancelled: let the tasks end, flush the producer (bounded by
    /// the drain deadline) and stop serving.
    pub async fn stop(self) -> Option<ProducerStats> {
        let work = async {
            // The inputs end on the shutdown token; then the producer drains and stops.
            self.inputs.wait().await;
            self.producer_stop.cancel();
            let stats = self.producer.await.ok();
            let _ = self.tasks.await;
            stats
        };
        let stats = svc_kit::shutdown::drain(self.drain, work).await.flatten();
        if let Some(s) = &stats {
            tracing::info!(
                records = s.records_sent,
                events = s.events_sent,
                unsent = s.events_unsent,
                "producer drained"
            );
        }
        self.shell.join().await;
        stats
    }
}
