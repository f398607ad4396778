//! Ingestor configuration (`INGESTOR__SECTION__KEY` environment overrides).

use serde::{Deserialize, Serialize};
use svc_kit::config::{FieldError, Validate};
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
    pub kinesis: KinesisConfig,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExchangeConfig {
    /// Binance SBE stream endpoint (or the exchange simulator).
    pub ws_url: String,
    /// Binance REST endpoint for depth snapshots.
    pub rest_url: String,
    pub symbols: Vec<String>,
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
            kinesis: KinesisConfig::default(),
        }
    }
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        ExchangeConfig {
            ws_url: "wss://stream-sbe.binance.com:9443".into(),
            rest_url: "https://api.binance.com".into(),
            symbols: vec!["BTCUSDT".into()],
        }
    }
}

impl Validate for Config {
    fn validate(&self, errors: &mut Vec<FieldError>) {
        self.shutdown.validate("shutdown", errors);
        if self.exchange.symbols.is_empty() {
            errors.push(FieldError {
                path: "exchange.symbols".into(),
                message: "at least one symbol".into(),
            });
        }
        for (i, s) in self.exchange.symbols.iter().enumerate() {
            svc_kit::validate_symbol(&format!("exchange.symbols[{i}]"), s, errors);
        }
        for (path, url, schemes) in [
            ("exchange.ws_url", &self.exchange.ws_url, ["ws://", "wss://"]),
            (
                "exchange.rest_url",
                &self.exchange.rest_url,
                ["http://", "https://"],
            ),
        ] {
            if !schemes.iter().any(|s| url.starts_with(s)) {
                errors.push(FieldError {
                    path: path.into(),
                    message: format!("must start with {}", schemes.join(" or ")),
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
