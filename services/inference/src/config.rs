//! Inference configuration (`INFERENCE__SECTION__KEY` environment overrides).

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use svc_kit::config::{FieldError, Validate};
use svc_kit::runner::ServiceConfig;
use svc_kit::telemetry::LogConfig;
use svc_kit::{HttpConfig, RedisConfig, ShutdownConfig};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub http: HttpConfig,
    pub log: LogConfig,
    pub shutdown: ShutdownConfig,
    pub symbol: String,
    pub redis: RedisConfig,
    pub model: ModelConfig,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    Ml,
    Baseline,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    pub path: PathBuf,
    pub baseline_path: PathBuf,
    /// `ml` or `baseline` (the runtime rollback toggle).
    pub variant: Variant,
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
        }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            path: "model/artifacts/model.onnx".into(),
            baseline_path: "model/artifacts/baseline.onnx".into(),
            variant: Variant::Ml,
        }
    }
}

impl Validate for Config {
    fn validate(&self, errors: &mut Vec<FieldError>) {
        self.shutdown.validate("shutdown", errors);
        self.redis.validate("redis", errors);
        svc_kit::validate_symbol("symbol", &self.symbol, errors);
    }
}

impl ServiceConfig for Config {
    fn log(&self) -> &LogConfig {
        &self.log
    }
}
