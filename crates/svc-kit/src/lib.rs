//! The shared service runtime, small and boring: configuration, telemetry, the operational HTTP
//! server, health, graceful shutdown, backoff and metered channels.

pub mod backoff;
pub mod channel;
pub mod cli;
pub mod config;
pub mod health;
pub mod http;
pub mod io_timeout;
pub mod process;
pub mod runner;
pub mod shell;
pub mod shutdown;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;

/// The `http` section every service has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address for /metrics, /health, /ready and the service API.
    pub listen: SocketAddr,
}

/// The `shutdown` section every service has.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    /// Seconds to drain after SIGTERM; keep below ECS's stopTimeout (30 s by default).
    pub drain_timeout_secs: f64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        ShutdownConfig {
            drain_timeout_secs: 20.0,
        }
    }
}

impl ShutdownConfig {
    pub fn drain_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.drain_timeout_secs.clamp(0.0, 3600.0))
    }

    pub fn validate(&self, path: &str, errors: &mut Vec<config::FieldError>) {
        if !(self.drain_timeout_secs > 0.0 && self.drain_timeout_secs < 120.0) {
            errors.push(config::FieldError {
                path: format!("{path}.drain_timeout_secs"),
                message: format!("must be in (0, 120) seconds, got {}", self.drain_timeout_secs),
            });
        }
    }
}

/// The `redis` section (aggregator and inference).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://` or `rediss://` (TLS, e.g. ElastiCache in-transit encryption).
    pub url: String,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: "redis://127.0.0.1:6379".into(),
        }
    }
}

impl RedisConfig {
    pub fn validate(&self, path: &str, errors: &mut Vec<config::FieldError>) {
        if !(self.url.starts_with("redis://") || self.url.starts_with("rediss://")) {
            errors.push(config::FieldError {
                path: format!("{path}.url"),
                message: "must start with redis:// or rediss://".into(),
            });
        }
    }
}

/// The `kinesis` section (ingestor and aggregator).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KinesisConfig {
    pub stream_name: String,
    pub region: String,
    /// Endpoint override (kinesalite locally); unset uses AWS's resolution (and the task role).
    pub endpoint_url: Option<String>,
}

impl Default for KinesisConfig {
    fn default() -> Self {
        KinesisConfig {
            stream_name: "market-events".into(),
            region: "us-east-1".into(),
            endpoint_url: None,
        }
    }
}

impl KinesisConfig {
    pub fn validate(&self, path: &str, errors: &mut Vec<config::FieldError>) {
        if self.stream_name.is_empty() || self.stream_name.len() > 128 {
            errors.push(config::FieldError {
                path: format!("{path}.stream_name"),
                message: "must be 1–128 characters".into(),
            });
        }
        if self.region.is_empty() {
            errors.push(config::FieldError {
                path: format!("{path}.region"),
                message: "must not be empty".into(),
            });
        }
    }
}

/// Check a trading symbol such as `BTCUSDT`.
pub fn validate_symbol(path: &str, symbol: &str, errors: &mut Vec<config::FieldError>) {
    if symbol.is_empty()
        || !symbol
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        errors.push(config::FieldError {
            path: path.into(),
            message: format!("`{symbol}` is not an upper-case symbol like BTCUSDT"),
        });
    }
}
