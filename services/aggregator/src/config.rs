//! Aggregator configuration (`AGGREGATOR__SECTION__KEY` environment overrides).

use serde::{Deserialize, Serialize};
use svc_kit::config::{FieldError, Validate};
use svc_kit::runner::ServiceConfig;
use svc_kit::telemetry::LogConfig;
use svc_kit::{HttpConfig, KinesisConfig, RedisConfig, ShutdownConfig};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub http: HttpConfig,
    pub log: LogConfig,
    pub shutdown: ShutdownConfig,
    pub symbol: String,
    pub kinesis: KinesisConfig,
    pub redis: RedisConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http: HttpConfig {
                listen: ([127, 0, 0, 1], 9091).into(),
            },
            log: LogConfig::default(),
            shutdown: ShutdownConfig::default(),
            symbol: "BTCUSDT".into(),
            kinesis: KinesisConfig::default(),
            redis: RedisConfig::default(),
        }
    }
}

impl Validate for Config {
    fn validate(&self, errors: &mut Vec<FieldError>) {
        self.shutdown.validate("shutdown", errors);
        self.redis.validate("redis", errors);
        self.kinesis.validate("kinesis", errors);
        svc_kit::validate_symbol("symbol", &self.symbol, errors);
    }
}

impl ServiceConfig for Config {
    fn log(&self) -> &LogConfig {
        &self.log
    }
}
