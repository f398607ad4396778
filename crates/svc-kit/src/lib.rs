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
#[cfg(feature = "redis")]
pub mod redis;
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

/// The `redis` section (aggregator and inference; the ingestor's control reader builds one too).
///
/// The password is never part of the configuration: it comes from `password_file` or, without
/// one, from the environment variable `REDIS_AUTH_TOKEN` (ECS injects it from Secrets Manager).
/// A password written into `url` still works but is redacted whenever the config is printed
/// (`--check-config`) or logged ([`redact_url`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://` or `rediss://` (TLS, e.g. ElastiCache in-transit encryption).
    #[serde(serialize_with = "serialize_redacted_url")]
    pub url: String,
    /// ACL user (`AUTH <username> <password>`); unset authenticates as `default` (or not at all).
    pub username: Option<String>,
    /// File holding the password (trailing newline ignored); takes precedence over `REDIS_AUTH_TOKEN`.
    pub password_file: Option<std::path::PathBuf>,
    /// PEM file of the CA that signed the server certificate (a private CA); unset with
    /// `rediss://` trusts the system roots (ElastiCache's certificates chain to them).
    pub ca_file: Option<std::path::PathBuf>,
}

/// The environment variable holding the Redis password when no `password_file` is configured.
pub const ENV_REDIS_AUTH_TOKEN: &str = "REDIS_AUTH_TOKEN";

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: "redis://127.0.0.1:6379".into(),
            username: None,
            password_file: None,
            ca_file: None,
        }
    }
}

impl RedisConfig {
    /// A config for `url` with no user, password file or CA (tests, the ingestor's `control.redis_url`).
    pub fn from_url(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            ..RedisConfig::default()
        }
    }

    pub fn validate(&self, path: &str, errors: &mut Vec<config::FieldError>) {
        let tls = self.url.starts_with("rediss://");
        if !(self.url.starts_with("redis://") || tls) {
            errors.push(config::FieldError {
                path: format!("{path}.url"),
                message: "must start with redis:// or rediss://".into(),
            });
        }
        if self.ca_file.is_some() && !tls {
            errors.push(config::FieldError {
                path: format!("{path}.ca_file"),
                message: "only applies to rediss:// (TLS) URLs".into(),
            });
        }
        if self
            .username
            .as_deref()
            .is_some_and(|u| u.is_empty() || u.contains(char::is_whitespace))
        {
            errors.push(config::FieldError {
                path: format!("{path}.username"),
                message: "must be non-empty without whitespace".into(),
            });
        }
    }

    /// The URL with any password replaced by `***`, for logs and errors.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }
}

/// `scheme://user:secret@host` → `scheme://user:***@host` (also `scheme://secret@host`); any
/// other string is returned unchanged. Used wherever a Redis URL is printed or logged.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let (userinfo, host) = authority.split_at(at);
    let redacted = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:***"),
        None if userinfo.is_empty() => String::new(),
        None => "***".to_string(),
    };
    format!("{scheme}://{redacted}{host}{tail}")
}

fn serialize_redacted_url<S: serde::Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(url))
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

#[cfg(test)]
mod redact_tests {
    use super::*;

    #[test]
    fn redact_url_hides_only_the_password() {
        assert_eq!(
            redact_url("rediss://agg:s3cret@h:6379/0"),
            "rediss://agg:***@h:6379/0"
        );
        assert_eq!(redact_url("redis://s3cret@h:6379"), "redis://***@h:6379");
        assert_eq!(redact_url("redis://:s3cret@h"), "redis://:***@h");
        assert_eq!(redact_url("redis://h:6379/0?x=a@b"), "redis://h:6379/0?x=a@b");
        assert_eq!(redact_url("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[test]
    fn printed_config_never_contains_the_url_password() {
        let mut c = RedisConfig::from_url("rediss://inference:pa55-w0rd@cache:6379");
        c.username = Some("inference".into());
        let printed = serde_json::to_string(&c).unwrap();
        assert!(!printed.contains("pa55-w0rd"), "{printed}");
        assert!(printed.contains("inference:***@cache:6379"), "{printed}");
    }

    #[test]
    fn validate_rejects_ca_file_without_tls() {
        let mut c = RedisConfig::from_url("redis://h:1");
        c.ca_file = Some("/ca.pem".into());
        let mut errors = Vec::new();
        c.validate("redis", &mut errors);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "redis.ca_file");
    }
}
