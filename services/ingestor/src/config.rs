//! Ingestor configuration (`INGESTOR__SECTION__KEY` environment overrides). The API key is not
//! configuration: it comes from `BINANCE_API_KEY` or `exchange.api_key_file` and is never logged.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;
use svc_kit::config::{FieldError, MAX_CONFIG_SECS, Validate, check_millis, check_secs};
use svc_kit::runner::ServiceConfig;
use svc_kit::telemetry::LogConfig;
use svc_kit::{HttpConfig, KinesisConfig, ShutdownConfig};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub http: HttpConfig,
    pub log: LogConfig,
    pub shutdown: ShutdownConfig,
    pub exchange: ExchangeConfig,
    pub rest: RestConfig,
    pub kinesis: KinesisConfig,
    pub producer: ProducerSection,
    pub control: ControlConfig,
    pub recorder: RecorderConfig,
}

/// The SBE WebSocket stream connection.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExchangeConfig {
    /// Binance SBE stream endpoint (or the exchange simulator).
    pub ws_url: String,
    /// Binance REST endpoint for depth snapshots.
    pub rest_url: String,
    pub symbols: Vec<String>,
    /// Streams per symbol: `trade`, `bestBidAsk`, `depth`.
    pub streams: Vec<String>,
    /// File holding the API key (`X-MBX-APIKEY`); unset reads `BINANCE_API_KEY`.
    pub api_key_file: Option<PathBuf>,
    /// The server's ping interval (Binance: 20 s); the idle timeout must be longer.
    pub ping_interval_secs: f64,
    /// Reconnect when nothing (data or ping) arrived for this long.
    pub idle_timeout_secs: f64,
    /// Planned reconnect before Binance's 24 h connection lifetime.
    pub max_connection_age_secs: f64,
    pub connect_timeout_secs: f64,
    pub reconnect_backoff_base_ms: u64,
    pub reconnect_backoff_max_ms: u64,
    /// Connection attempts allowed per window (Binance: 300 per 5 minutes per IP).
    pub connect_limit: u32,
    pub connect_window_secs: f64,
    /// Client messages (pongs, control) allowed per window (Binance: 5 per second).
    pub message_limit: u32,
    pub message_window_ms: u64,
    /// `/health` reports the stream unhealthy (503) after this long disconnected; degraded before.
    pub unhealthy_after_secs: f64,
    /// Largest WebSocket message (and frame) accepted; a larger one drops the connection
    /// (counted in `ingestor_oversized_inputs_total{source="websocket"}`) and reconnects.
    /// Default 1 MiB: the largest depth diff in the real recordings is 1,226 levels, about
    /// 20 KB as SBE (34.6 KB as JSON); see the service README.
    pub max_message_bytes: usize,
}

/// REST depth snapshots.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RestConfig {
    pub timeout_secs: f64,
    /// Depth levels per side (weight 5/25/50/250 for ≤100/≤500/≤1000/≤5000).
    pub depth_limit: u32,
    /// Request weight per minute this process may use (Binance's IP limit is 6000).
    pub weight_budget: u32,
    /// Periodic snapshot interval (0 disables).
    pub snapshot_interval_secs: f64,
    pub breaker_failures: u32,
    pub breaker_cooldown_secs: f64,
    pub retry_backoff_base_ms: u64,
    pub retry_backoff_max_ms: u64,
    /// Largest REST response body read; a larger one is abandoned (counted in
    /// `ingestor_oversized_inputs_total{source="rest"}`) and retried with backoff. A 5000-level
    /// SBE snapshot is about 160 KB.
    pub max_body_bytes: usize,
    /// A snapshot request still unsatisfied after this long (e.g. it needs an update id the
    /// exchange never reaches, or the exchange keeps refusing) is dropped and counted in
    /// `ingestor_snapshot_requests_expired_total`; the next gap, reconnect, periodic or control
    /// request asks again.
    pub snapshot_request_max_age_secs: f64,
}

/// The Kinesis producer (the `kinesis` section names the stream).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProducerSection {
    pub linger_ms: u64,
    /// Events buffered in the producer before the stream client feels backpressure.
    pub max_buffered_events: usize,
    pub channel_capacity: usize,
    /// How long the stream client waits for buffer room before dropping (counted) events.
    pub max_block_ms: u64,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
}

/// Re-anchor requests from the aggregator (`XADD {SYMBOL}:control * type snapshot_request ...`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControlConfig {
    /// `redis://host:port` or `rediss://host:port` (TLS); unset runs without control requests.
    /// Printed with any password redacted.
    #[serde(serialize_with = "serialize_redacted_url")]
    pub redis_url: Option<String>,
    /// Redis ACL user (`ingestor`: read-only on `{S}:control`); the password comes from
    /// `redis_password_file` or `REDIS_AUTH_TOKEN`.
    pub redis_username: Option<String>,
    pub redis_password_file: Option<PathBuf>,
    /// PEM CA for a `rediss://` server with a private CA (unset: system roots).
    pub redis_ca_file: Option<PathBuf>,
}

impl ControlConfig {
    /// The Redis connection settings of the control reader, when it is enabled.
    pub fn redis(&self) -> Option<svc_kit::RedisConfig> {
        self.redis_url.as_ref().map(|url| svc_kit::RedisConfig {
            url: url.clone(),
            username: self.redis_username.clone(),
            password_file: self.redis_password_file.clone(),
            ca_file: self.redis_ca_file.clone(),
        })
    }
}

fn serialize_redacted_url<S: serde::Serializer>(url: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match url {
        Some(u) => s.serialize_some(&svc_kit::redact_url(u)),
        None => s.serialize_none(),
    }
}

/// Raw frame recording (also `--record DIR`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecorderConfig {
    pub dir: Option<PathBuf>,
    /// Delete recording files older than this many hours (0 keeps them forever).
    pub max_age_hours: u64,
    /// Keep the directory's recordings within this many bytes, oldest deleted first; the file
    /// being written is never deleted (0: no byte bound).
    pub max_bytes: u64,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig {
            dir: None,
            max_age_hours: 72,
            max_bytes: 20 << 30,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http: HttpConfig {
                listen: ([127, 0, 0, 1], 9090).into(),
            },
            log: LogConfig::default(),
            shutdown: ShutdownConfig::default(),
            exchange: ExchangeConfig::default(),
            rest: RestConfig::default(),
            kinesis: KinesisConfig::default(),
            producer: ProducerSection::default(),
            control: ControlConfig::default(),
            recorder: RecorderConfig::default(),
        }
    }
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        ExchangeConfig {
            ws_url: "wss://stream-sbe.binance.com:9443".into(),
            rest_url: "https://api.binance.com".into(),
            symbols: vec!["BTCUSDT".into()],
            streams: vec!["trade".into(), "bestBidAsk".into(), "depth".into()],
            api_key_file: None,
            ping_interval_secs: 20.0,
            idle_timeout_secs: 30.0,
            max_connection_age_secs: 23.5 * 3600.0,
            connect_timeout_secs: 10.0,
            reconnect_backoff_base_ms: 500,
            reconnect_backoff_max_ms: 30_000,
            connect_limit: 300,
            connect_window_secs: 300.0,
            message_limit: 5,
            message_window_ms: 1000,
            unhealthy_after_secs: 60.0,
            max_message_bytes: 1 << 20,
        }
    }
}

impl Default for RestConfig {
    fn default() -> Self {
        RestConfig {
            timeout_secs: 10.0,
            depth_limit: 1000,
            weight_budget: 1200,
            snapshot_interval_secs: 300.0,
            breaker_failures: 5,
            breaker_cooldown_secs: 30.0,
            retry_backoff_base_ms: 500,
            retry_backoff_max_ms: 30_000,
            max_body_bytes: 4 << 20,
            snapshot_request_max_age_secs: 120.0,
        }
    }
}

impl Default for ProducerSection {
    fn default() -> Self {
        ProducerSection {
            linger_ms: 50,
            max_buffered_events: 200_000,
            channel_capacity: 8192,
            max_block_ms: 2000,
            backoff_base_ms: 50,
            backoff_max_ms: 5000,
        }
    }
}

/// `secs` as a duration, clamped to `[0, one year]` (validation rejects values outside first).
pub fn secs(s: f64) -> Duration {
    svc_kit::config::secs_duration(s)
}

/// Binance's weight for a depth request of `limit` levels.
pub fn depth_weight(limit: u32) -> u32 {
    match limit {
        0..=100 => 5,
        101..=500 => 25,
        501..=1000 => 50,
        _ => 250,
    }
}

pub const STREAMS: [&str; 3] = ["trade", "bestBidAsk", "depth"];

fn err(errors: &mut Vec<FieldError>, path: &str, message: impl Into<String>) {
    errors.push(FieldError {
        path: path.into(),
        message: message.into(),
    });
}

impl Validate for Config {
    fn validate(&self, errors: &mut Vec<FieldError>) {
        self.shutdown.validate("shutdown", errors);
        let x = &self.exchange;
        if x.symbols.is_empty() {
            err(errors, "exchange.symbols", "at least one symbol");
        }
        for (i, s) in x.symbols.iter().enumerate() {
            svc_kit::validate_symbol(&format!("exchange.symbols[{i}]"), s, errors);
        }
        if x.streams.is_empty() {
            err(errors, "exchange.streams", "at least one stream");
        }
        for (i, s) in x.streams.iter().enumerate() {
            if !STREAMS.contains(&s.as_str()) {
                err(
                    errors,
                    &format!("exchange.streams[{i}]"),
                    format!("`{s}` is not one of {STREAMS:?}"),
                );
            }
        }
        for (path, url, schemes) in [
            ("exchange.ws_url", &x.ws_url, ["ws://", "wss://"]),
            ("exchange.rest_url", &x.rest_url, ["http://", "https://"]),
        ] {
            if !schemes.iter().any(|s| url.starts_with(s)) || url.parse::<hyper::Uri>().is_err() {
                err(
                    errors,
                    path,
                    format!("must be a URL starting with {}", schemes.join(" or ")),
                );
            }
        }
        for (path, v) in [
            ("exchange.ping_interval_secs", x.ping_interval_secs),
            ("exchange.idle_timeout_secs", x.idle_timeout_secs),
            ("exchange.max_connection_age_secs", x.max_connection_age_secs),
            ("exchange.connect_timeout_secs", x.connect_timeout_secs),
            ("exchange.connect_window_secs", x.connect_window_secs),
            ("exchange.unhealthy_after_secs", x.unhealthy_after_secs),
            ("rest.timeout_secs", self.rest.timeout_secs),
            ("rest.breaker_cooldown_secs", self.rest.breaker_cooldown_secs),
            (
                "rest.snapshot_request_max_age_secs",
                self.rest.snapshot_request_max_age_secs,
            ),
        ] {
            check_secs(errors, path, v, false);
        }
        check_secs(
            errors,
            "rest.snapshot_interval_secs",
            self.rest.snapshot_interval_secs,
            true,
        );
        let p = &self.producer;
        for (path, v, zero_ok) in [
            (
                "exchange.reconnect_backoff_base_ms",
                x.reconnect_backoff_base_ms,
                true,
            ),
            (
                "exchange.reconnect_backoff_max_ms",
                x.reconnect_backoff_max_ms,
                true,
            ),
            ("exchange.message_window_ms", x.message_window_ms, false),
            (
                "rest.retry_backoff_base_ms",
                self.rest.retry_backoff_base_ms,
                true,
            ),
            ("rest.retry_backoff_max_ms", self.rest.retry_backoff_max_ms, true),
            ("producer.linger_ms", p.linger_ms, true),
            ("producer.max_block_ms", p.max_block_ms, true),
            ("producer.backoff_base_ms", p.backoff_base_ms, true),
            ("producer.backoff_max_ms", p.backoff_max_ms, true),
        ] {
            check_millis(errors, path, v, zero_ok);
        }
        if !(1024..=64 << 20).contains(&x.max_message_bytes) {
            err(errors, "exchange.max_message_bytes", "must be in 1 KiB..=64 MiB");
        }
        if self.recorder.max_age_hours > MAX_CONFIG_SECS / 3600 {
            err(
                errors,
                "recorder.max_age_hours",
                "must be at most one year (0: keep forever)",
            );
        }
        if !(1024..=64 << 20).contains(&self.rest.max_body_bytes) {
            err(errors, "rest.max_body_bytes", "must be in 1 KiB..=64 MiB");
        }
        if x.idle_timeout_secs <= x.ping_interval_secs {
            err(
                errors,
                "exchange.idle_timeout_secs",
                "must be longer than exchange.ping_interval_secs",
            );
        }
        if x.max_connection_age_secs >= 24.0 * 3600.0 {
            err(
                errors,
                "exchange.max_connection_age_secs",
                "must be below Binance's 24 h lifetime",
            );
        }
        if x.connect_limit == 0 || x.message_limit == 0 || x.message_window_ms == 0 {
            err(
                errors,
                "exchange.connect_limit",
                "connect and message limits and windows must be positive",
            );
        }
        let r = &self.rest;
        if !(1..=5000).contains(&r.depth_limit) {
            err(errors, "rest.depth_limit", "must be in 1..=5000");
        }
        if r.weight_budget < depth_weight(r.depth_limit) {
            err(
                errors,
                "rest.weight_budget",
                "smaller than one depth request's weight",
            );
        }
        if p.max_buffered_events == 0 || p.channel_capacity == 0 {
            err(
                errors,
                "producer.max_buffered_events",
                "buffer and channel capacity must be positive",
            );
        }
        if let Some(redis) = self.control.redis() {
            let mut redis_errors = Vec::new();
            redis.validate("control", &mut redis_errors);
            for e in redis_errors {
                // RedisConfig names its fields url/ca_file/username; here they are redis_*.
                let field = e.path.trim_start_matches("control.");
                errors.push(FieldError {
                    path: format!("control.redis_{field}"),
                    message: e.message,
                });
            }
        }
        self.kinesis.validate("kinesis", errors);
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

    fn load(env: &[(&str, &str)]) -> Result<Config, svc_kit::config::ConfigError> {
        load_yaml("", env)
    }

    fn load_yaml(yaml: &str, env: &[(&str, &str)]) -> Result<Config, svc_kit::config::ConfigError> {
        svc_kit::config::load_from(
            yaml,
            "INGESTOR",
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn defaults_are_valid_and_follow_binance_limits() {
        let c = load(&[]).unwrap();
        assert_eq!(c.exchange.streams, STREAMS);
        assert_eq!(c.rest.depth_limit, 1000);
        assert_eq!(c.rest.snapshot_interval_secs, 300.0);
        assert_eq!((c.exchange.connect_limit, c.exchange.message_limit), (300, 5));
        assert!(c.control.redis_url.is_none());
    }

    #[test]
    fn deploy_env_names_override_the_kinesis_section() {
        let c = load(&[
            ("INGESTOR__KINESIS__STREAM_NAME", "prod-events"),
            ("INGESTOR__KINESIS__REGION", "eu-west-1"),
        ])
        .unwrap();
        assert_eq!(
            (c.kinesis.stream_name.as_str(), c.kinesis.region.as_str()),
            ("prod-events", "eu-west-1")
        );
    }

    #[test]
    fn every_invalid_field_is_reported_with_its_path() {
        let e = load_yaml(
            "exchange:\n  streams: [trade, depth20]\n",
            &[
                ("INGESTOR__EXCHANGE__IDLE_TIMEOUT_SECS", "5"),
                ("INGESTOR__REST__DEPTH_LIMIT", "6000"),
                ("INGESTOR__CONTROL__REDIS_URL", "http://x"),
                ("INGESTOR__PRODUCER__NOPE", "1"),
            ],
        )
        .unwrap_err();
        let paths: Vec<_> = e.errors.iter().map(|e| e.path.as_str()).collect();
        eprintln!("{e}");
        for want in [
            "exchange.idle_timeout_secs",
            "exchange.streams[1]",
            "rest.depth_limit",
            "control.redis_url",
            "producer.nope",
        ] {
            assert!(paths.contains(&want), "{want} missing from {paths:?}");
        }
    }

    /// A duration too large for a `Duration` (or for clock arithmetic) is a config error,
    /// never zero (`secs(1e30)` used to read as 0 s: an idle timeout of zero).
    #[test]
    fn durations_too_large_for_the_clock_are_rejected() {
        let e = load_yaml(
            "exchange:\n  idle_timeout_secs: 1.0e30\n  reconnect_backoff_max_ms: 18446744073709551615\nrest:\n  snapshot_interval_secs: 1.0e300\nproducer:\n  max_block_ms: 18446744073709551615\n",
            &[],
        )
        .unwrap_err();
        let paths: Vec<_> = e.errors.iter().map(|e| e.path.as_str()).collect();
        eprintln!("{e}");
        for want in [
            "exchange.idle_timeout_secs",
            "exchange.reconnect_backoff_max_ms",
            "rest.snapshot_interval_secs",
            "producer.max_block_ms",
        ] {
            assert!(paths.contains(&want), "{want} missing from {paths:?}");
        }
        assert_ne!(secs(1e30), Duration::ZERO);
    }
}
