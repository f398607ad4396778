//! Inference configuration (`INFERENCE__SECTION__KEY` environment overrides), plus the two
//! unprefixed variables the deploy guide promises: `MODEL_VARIANT=ml|baseline` (overrides
//! `model.variant`) and the secret `REDIS_AUTH_TOKEN` (never part of the printed config).

pub use crate::lifecycle::LifecycleConfig;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;
use svc_kit::config::{FieldError, Validate};
use svc_kit::runner::ServiceConfig;
use svc_kit::telemetry::LogConfig;
use svc_kit::{HttpConfig, RedisConfig, ShutdownConfig};

/// Unprefixed override of `model.variant` (ECS task definition parameter `ModelVariant`).
pub const ENV_MODEL_VARIANT: &str = "MODEL_VARIANT";
/// Unprefixed secret: the Redis AUTH token (ElastiCache). Never logged.
pub const ENV_REDIS_AUTH_TOKEN: &str = "REDIS_AUTH_TOKEN";
/// Unprefixed secret: the bearer token of the admin endpoints (ECS: from Secrets Manager). Never
/// logged; `admin.token_file` is the alternative. Neither set: the admin endpoints are disabled.
pub const ENV_ADMIN_TOKEN: &str = "INFERENCE_ADMIN_TOKEN";

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub http: HttpConfig,
    pub log: LogConfig,
    pub shutdown: ShutdownConfig,
    pub symbol: String,
    pub redis: RedisConfig,
    pub model: ModelConfig,
    pub tick: TickConfig,
    pub predictions: PredictionsConfig,
    pub evaluation: EvaluationConfig,
    pub admin: AdminConfig,
    /// Challenger, promotion, rollback, audit log, automatic policy (issue 17).
    pub lifecycle: LifecycleConfig,
}

/// The admin endpoints (`POST /v1/admin/*`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// File holding the bearer token (first line, trimmed); `INFERENCE_ADMIN_TOKEN` wins when set.
    /// Empty and no variable: the admin endpoints answer 403.
    pub token_file: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    Ml,
    Baseline,
}

impl Variant {
    pub fn parse(s: &str) -> Option<Variant> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ml" => Some(Variant::Ml),
            "baseline" => Some(Variant::Baseline),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Variant::Ml => "ml",
            Variant::Baseline => "baseline",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// The ML model (`INFERENCE__MODEL__PATH`).
    pub path: PathBuf,
    /// The baseline model; empty means `baseline.onnx` in the directory of `path`.
    pub baseline_path: PathBuf,
    /// `ml` or `baseline` (the runtime rollback toggle; `MODEL_VARIANT` overrides it).
    pub variant: Variant,
    /// How often the model files' modification times are polled for a hot reload (SIGHUP reloads at once).
    pub reload_poll_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TickConfig {
    /// Tick period; ticks are aligned to multiples of it on the wall clock.
    pub interval_ms: u64,
    /// Features computed longer ago than this are stale (fallback `stale_features`).
    pub max_feature_age_ms: u64,
    /// Features whose last exchange event is older than this are stale however recently they
    /// were computed (fallback `market_stale`); 0 disables the check (replays of recordings whose
    /// event times are not current). Includes the clock-skew allowance between exchange and host.
    pub max_market_age_ms: u64,
    /// How far the exchange event time may lie ahead of this host's clock (fallback `clock_skew`).
    pub max_clock_skew_ms: u64,
    /// Minimum share of warm features for the model to run (fallback `incomplete_features`).
    pub min_completeness: f64,
    /// Bound on each Redis round trip of the hot path.
    pub redis_timeout_ms: u64,
    /// `/health` calls Redis `degraded` when the median read of the last 15 ticks is above this
    /// (seed 000: 5 ms, the `RedisReadLatencyHigh` threshold).
    pub slow_read_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PredictionsConfig {
    /// Approximate bound of the `{SYMBOL}:predictions` stream (`XADD MAXLEN ~`).
    pub stream_maxlen: u64,
    /// Predictions kept in memory for `GET /v1/predictions?limit=N` (the largest N).
    pub history: usize,
    /// Concurrent `GET /v1/predictions/stream` subscribers.
    pub max_sse_subscribers: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvaluationConfig {
    /// Scored predictions in the rolling accuracy window.
    pub window: usize,
    /// Scored predictions needed before the `model_*` metrics are observed.
    pub min_samples: usize,
    /// Window of `service_uptime_ratio` / `service_error_budget_remaining`.
    pub slo_window_hours: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http: HttpConfig {
                listen: ([127, 0, 0, 1], 9092).into(),
            },
            log: LogConfig::default(),
            shutdown: ShutdownConfig::default(),
            symbol: "BTCUSDT".into(),
            redis: RedisConfig::default(),
            model: ModelConfig::default(),
            tick: TickConfig::default(),
            predictions: PredictionsConfig::default(),
            evaluation: EvaluationConfig::default(),
            admin: AdminConfig::default(),
            lifecycle: LifecycleConfig::default(),
        }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            path: "model/artifacts/model.onnx".into(),
            baseline_path: PathBuf::new(),
            variant: Variant::Ml,
            reload_poll_ms: 2_000,
        }
    }
}

impl Default for TickConfig {
    fn default() -> Self {
        TickConfig {
            interval_ms: 2_000,
            max_feature_age_ms: 2_000,
            max_market_age_ms: 5_000,
            max_clock_skew_ms: 2_000,
            min_completeness: 0.9,
            redis_timeout_ms: 250,
            slow_read_ms: 5,
        }
    }
}

impl Default for PredictionsConfig {
    fn default() -> Self {
        PredictionsConfig {
            stream_maxlen: 10_000,
            history: 1_000,
            max_sse_subscribers: 64,
        }
    }
}

impl Default for EvaluationConfig {
    fn default() -> Self {
        EvaluationConfig {
            window: 300,
            min_samples: 20,
            slo_window_hours: 24 * 30,
        }
    }
}

impl ModelConfig {
    /// The baseline model file (explicit, or `baseline.onnx` beside `path`).
    pub fn baseline_file(&self) -> PathBuf {
        if self.baseline_path.as_os_str().is_empty() {
            self.path
                .parent()
                .map(|d| d.join("baseline.onnx"))
                .unwrap_or_else(|| "baseline.onnx".into())
        } else {
            self.baseline_path.clone()
        }
    }
}

impl TickConfig {
    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }
    pub fn redis_timeout(&self) -> Duration {
        Duration::from_millis(self.redis_timeout_ms)
    }
    /// The market-age bound in µs, `None` when disabled.
    pub fn max_market_age_us(&self) -> Option<i64> {
        (self.max_market_age_ms > 0)
            .then(|| i64::try_from(self.max_market_age_ms).unwrap_or(i64::MAX) * 1_000)
    }
    pub fn max_clock_skew_us(&self) -> i64 {
        i64::try_from(self.max_clock_skew_ms).unwrap_or(i64::MAX / 1_000) * 1_000
    }
}

impl Config {
    /// The variant to start with: `MODEL_VARIANT` when set, else `model.variant`.
    pub fn effective_variant(&self, env_value: Option<&str>) -> Variant {
        env_value.and_then(Variant::parse).unwrap_or(self.model.variant)
    }
}

fn check(errors: &mut Vec<FieldError>, ok: bool, path: &str, message: String) {
    if !ok {
        errors.push(FieldError {
            path: path.into(),
            message,
        });
    }
}

impl Validate for Config {
    fn validate(&self, errors: &mut Vec<FieldError>) {
        self.shutdown.validate("shutdown", errors);
        self.redis.validate("redis", errors);
        svc_kit::validate_symbol("symbol", &self.symbol, errors);
        if let Ok(v) = std::env::var(ENV_MODEL_VARIANT) {
            check(
                errors,
                Variant::parse(&v).is_some(),
                ENV_MODEL_VARIANT,
                format!("must be `ml` or `baseline`, got `{v}`"),
            );
        }
        if let Err(e) = crate::admin::AdminToken::from_env(&self.admin) {
            check(errors, false, "admin.token_file", e.to_string());
        }
        let m = &self.model;
        check(
            errors,
            !m.path.as_os_str().is_empty(),
            "model.path",
            "must not be empty".into(),
        );
        check(
            errors,
            (100..=600_000).contains(&m.reload_poll_ms),
            "model.reload_poll_ms",
            format!("must be in [100, 600000], got {}", m.reload_poll_ms),
        );
        let t = &self.tick;
        check(
            errors,
            (100..=60_000).contains(&t.interval_ms),
            "tick.interval_ms",
            format!("must be in [100, 60000], got {}", t.interval_ms),
        );
        check(
            errors,
            (1..=3_600_000).contains(&t.max_feature_age_ms),
            "tick.max_feature_age_ms",
            format!("must be in [1, 3600000], got {}", t.max_feature_age_ms),
        );
        check(
            errors,
            t.max_market_age_ms == 0 || (100..=3_600_000).contains(&t.max_market_age_ms),
            "tick.max_market_age_ms",
            format!(
                "must be 0 (off) or in [100, 3600000], got {}",
                t.max_market_age_ms
            ),
        );
        check(
            errors,
            t.max_clock_skew_ms <= 60_000,
            "tick.max_clock_skew_ms",
            format!("must be in [0, 60000], got {}", t.max_clock_skew_ms),
        );
        check(
            errors,
            (1..=60_000).contains(&t.slow_read_ms),
            "tick.slow_read_ms",
            format!("must be in [1, 60000], got {}", t.slow_read_ms),
        );
        check(
            errors,
            (0.0..=1.0).contains(&t.min_completeness),
            "tick.min_completeness",
            format!("must be in [0, 1], got {}", t.min_completeness),
        );
        check(
            errors,
            (1..=t.interval_ms / 2).contains(&t.redis_timeout_ms),
            "tick.redis_timeout_ms",
            format!(
                "must be in [1, tick.interval_ms / 2] (two round trips per tick), got {}",
                t.redis_timeout_ms
            ),
        );
        let p = &self.predictions;
        check(
            errors,
            (1..=10_000_000).contains(&p.stream_maxlen),
            "predictions.stream_maxlen",
            format!("must be in [1, 10000000], got {}", p.stream_maxlen),
        );
        check(
            errors,
            (1..=100_000).contains(&p.history),
            "predictions.history",
            format!("must be in [1, 100000], got {}", p.history),
        );
        check(
            errors,
            (1..=10_000).contains(&p.max_sse_subscribers),
            "predictions.max_sse_subscribers",
            format!("must be in [1, 10000], got {}", p.max_sse_subscribers),
        );
        self.lifecycle.validate(
            self.evaluation.window,
            &self.model.path,
            &self.model.baseline_file(),
            errors,
        );
        let e = &self.evaluation;
        check(
            errors,
            (2..=100_000).contains(&e.window) && e.min_samples >= 2 && e.min_samples <= e.window,
            "evaluation.window",
            format!(
                "need 2 <= evaluation.min_samples ({}) <= evaluation.window ({}) <= 100000",
                e.min_samples, e.window
            ),
        );
        check(
            errors,
            (1..=24 * 90).contains(&e.slo_window_hours),
            "evaluation.slo_window_hours",
            format!("must be in [1, 2160], got {}", e.slo_window_hours),
        );
    }
}

impl ServiceConfig for Config {
    fn log(&self) -> &LogConfig {
        &self.log
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_the_baseline_sits_beside_the_model() {
        let c = Config::default();
        let mut errors = Vec::new();
        c.validate(&mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            c.model.baseline_file(),
            PathBuf::from("model/artifacts/baseline.onnx")
        );
    }

    #[test]
    fn model_variant_environment_value_overrides_the_configured_variant() {
        let c = Config::default();
        assert_eq!(c.effective_variant(Some("baseline")), Variant::Baseline);
        assert_eq!(c.effective_variant(Some(" ML ")), Variant::Ml);
        assert_eq!(c.effective_variant(None), Variant::Ml);
    }

    #[test]
    fn every_out_of_range_field_is_reported_with_its_path() {
        let mut c = Config::default();
        c.tick.interval_ms = 5;
        c.tick.min_completeness = 1.5;
        c.predictions.history = 0;
        c.tick.max_market_age_ms = 50;
        c.tick.slow_read_ms = 0;
        let mut errors = Vec::new();
        c.validate(&mut errors);
        let paths: Vec<_> = errors.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"tick.interval_ms"), "{paths:?}");
        assert!(paths.contains(&"tick.min_completeness"), "{paths:?}");
        assert!(paths.contains(&"predictions.history"), "{paths:?}");
        assert!(paths.contains(&"tick.max_market_age_ms"), "{paths:?}");
        assert!(paths.contains(&"tick.slow_read_ms"), "{paths:?}");
        assert_eq!(Config::default().tick.max_market_age_us(), Some(5_000_000));
        c.tick.max_market_age_ms = 0;
        assert_eq!(c.tick.max_market_age_us(), None);
    }
}
