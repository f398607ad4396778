//! Composition root: shared state and API → HTTP shell (metrics, health) → models → Redis →
//! reload task and tick loop; on SIGTERM the current tick finishes, then everything drains.

use crate::admin::AdminToken;
use crate::api::Api;
use crate::config::{Config, ENV_MODEL_VARIANT, ENV_REDIS_AUTH_TOKEN};
use crate::decision::Limits;
use crate::evaluation::Evaluator;
use crate::hot_path::HotPath;
use crate::lifecycle::Lifecycle;
use crate::models::ModelStore;
use crate::shadow::{ChallengerStream, Shadow};
use crate::slo::SloWindow;
use crate::state::{Published, Shared};

use crate::push::PushLimits;
use crate::push_store::PushStore;
use crate::store::RedisStore;
use crate::tick::{TickLoop, model_variant_label};
use crate::{health, reload, supervision};
use metrics_schema::InferenceMetrics;
use std::sync::Arc;
use std::time::Duration;
use svc_kit::health::Level;
use svc_kit::http::Routes;
use svc_kit::runner::RunError;
use svc_kit::shell::Shell;

pub async fn run(cfg: Config) -> Result<(), RunError> {
    let shutdown = svc_kit::shutdown::on_signals();
    let variant = cfg.effective_variant(std::env::var(ENV_MODEL_VARIANT).ok().as_deref());
    let shared = Arc::new(
        Shared::new(
            cfg.symbol.clone(),
            ModelStore::new(cfg.model.path.clone(), cfg.model.baseline_file()),
            variant,
            cfg.predictions.history,
            cfg.predictions.max_sse_subscribers,
            shutdown.clone(),
        )
        .with_lifecycle(Lifecycle::new(cfg.lifecycle.clone(), &cfg.model.path)),
    );
    let admin = AdminToken::from_env(&cfg.admin)?;
    if !admin.is_enabled() {
        tracing::warn!("no admin token configured: POST /v1/admin/* answers 403");
    }
    let api = Api::new(shared.clone(), admin);
    let api_metrics = api.metrics_slot();
    let routes: Arc<dyn Routes> = Arc::new(api);
    let (shell, metrics) = Shell::start(
        cfg.http.listen,
        shutdown.clone(),
        InferenceMetrics::register,
        Some(routes),
    )
    .await?;
    let _ = api_metrics.set(metrics.clone());
    let h = shell.health.clone();
    metrics.set_variant(model_variant_label(variant));
    h.set(
        health::REDIS,
        Level::Degraded,
        "disconnected",
        Some("connecting".into()),
    );
    h.set(
        health::FEATURES,
        Level::Degraded,
        "stale",
        Some("no tick yet".into()),
    );
    reload::reload_all(&shared, &metrics, &h, true).await;

    // Fails only on a malformed URL or unreadable password/CA file; connecting happens on the
    // tick thread.
    let (redis_config, password_source) =
        svc_kit::redis::fred_config(&cfg.redis, std::env::var(ENV_REDIS_AUTH_TOKEN).ok())?;
    tracing::info!(
        url = %cfg.redis.redacted_url(), user = cfg.redis.username.as_deref().unwrap_or("default"),
        password = password_source.as_str(), "redis client"
    );
    let store = RedisStore::with_config(
        redis_config.clone(),
        &cfg.symbol,
        cfg.predictions.stream_maxlen,
        cfg.tick.redis_timeout(),
    )?;
    tracing::info!(
        symbol = %cfg.symbol, variant = variant.as_str(),
        model = %cfg.model.path.display(), baseline = %cfg.model.baseline_file().display(),
        interval_ms = cfg.tick.interval_ms, "inference started"
    );
    let reloader = tokio::spawn(reload::run(
        shared.clone(),
        metrics.clone(),
        h.clone(),
        Duration::from_millis(cfg.model.reload_poll_ms),
        shutdown.clone(),
    ));
    // Issue 17: the challenger's stream shares the hot path's connection (written after each tick).
    let challenger_stream = ChallengerStream::new(
        store.client().clone(),
        &cfg.symbol,
        cfg.lifecycle.challenger_stream_maxlen,
        cfg.tick.redis_timeout(),
    );
    // Issue 18: the tick takes the features the aggregator's flush pushed (in memory, no round
    // trip), reading them as before when the subscription cannot be trusted; same URL, TLS and
    // ACL user as the store.
    let store = PushStore::new(
        store,
        redis_config,
        &cfg.symbol,
        PushLimits::default(),
        Some(metrics.clone()),
    )?;
    let hot = HotPath {
        store,
        shared: shared.clone(),
        limits: Limits::new(
            i64::try_from(cfg.tick.max_feature_age_ms).unwrap_or(i64::MAX) * 1_000,
            cfg.tick.min_completeness,
        )
        .with_market(cfg.tick.max_market_age_us(), cfg.tick.max_clock_skew_us()),
    };
    let interval_us = i64::try_from(cfg.tick.interval_ms).unwrap_or(2_000) * 1_000;
    let ticker = TickLoop::new(
        hot,
        metrics,
        h.clone(),
        interval_us,
        Evaluator::new(cfg.evaluation.window, cfg.evaluation.min_samples, interval_us * 2),
        SloWindow::new(i64::try_from(cfg.evaluation.slo_window_hours).unwrap_or(720) * 3_600_000_000),
    )
    .with_shadow(Shadow::new(
        Evaluator::new(cfg.evaluation.window, cfg.evaluation.min_samples, interval_us * 2),
        Some(challenger_stream),
    ))
    .with_slow_read(cfg.tick.slow_read_ms as f64 / 1e3);
    // Ready once the first tick completed; unhealthy when none completed for 3 intervals.
    let watcher = tokio::spawn(supervision::watch(
        h.clone(),
        ticker.liveness(),
        interval_us,
        shutdown.clone(),
    ));
    let ticks = spawn_tick_thread(ticker, shutdown.clone())?;

    shutdown.cancelled().await;
    // The supervisor returns at once on shutdown; awaiting it first means it cannot mark the service
    // ready again after this.
    let _ = watcher.await;
    h.set_ready(false);
    svc_kit::shutdown::drain(cfg.shutdown.drain_timeout(), async {
        let _ = ticks.await;
        let _ = reloader.await;
        shell.join().await;
    })
    .await;
    Ok(())
}

/// The tick loop and its Redis client run on their own thread with a current-thread runtime: the
/// hot path's wake-ups (client task → connection task → back) stay on one thread instead of
/// crossing workers, which `benches/hot_path.rs` measures at ~25 % of the hot path on 2 vCPUs,
/// and HTTP load on the main runtime cannot delay a tick. Resolves when the loop has stopped.
fn spawn_tick_thread(
    ticker: TickLoop<PushStore<RedisStore>>,
    shutdown: tokio_util::sync::CancellationToken,
) -> std::io::Result<tokio::sync::oneshot::Receiver<()>> {
    let (done, stopped) = tokio::sync::oneshot::channel();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("inference-tick".into())
        .spawn(move || {
            rt.block_on(async move {
                ticker.hot.store.start();
                ticker.hot.store.start_push();
                if ticker.hot.store.wait_connected(Duration::from_secs(1)).await {
                    seed_history(&ticker.hot.store, &ticker.hot.shared).await;
                }
                let store = ticker.run(shutdown).await;
                store.quit_push().await;
                store.quit().await;
            });
            let _ = done.send(());
        })?;
    Ok(stopped)
}

/// The API's history survives a restart: load the newest entries of the Redis stream (bounded).
async fn seed_history(store: &RedisStore, shared: &Shared) {
    let count = u64::try_from(shared.history_cap()).unwrap_or(1_000);
    match store.recent(count).await {
        Ok(newest_first) => {
            let items = newest_first.into_iter().rev().filter_map(|json| {
                let v: serde_json::Value = serde_json::from_slice(&json).ok()?;
                Some(Published {
                    tick_time_us: v.get("tick_time_us")?.as_i64()?,
                    json,
                })
            });
            shared.seed_history(items);
        }
        Err(e) => tracing::warn!(error = %e, "cannot load prediction history from redis"),
    }
}
