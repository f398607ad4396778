//! The shared service runtime, small and boring: configuration, telemetry, the operational HTTP
//! server, health, graceful shutdown, backoff and metered channels.

pub mod backoff;
pub mod channel;
pub mod cli;
pub mod config;
pub mod health;
pub mod http;
pub mod process;
pub mod shutdown;
pub mod telemetry;

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
        ShutdownConfig { drain_timeout_secs: 20.0 }
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
