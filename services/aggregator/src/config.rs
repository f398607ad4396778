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
    pub consumer: ConsumerSection,
    pub flush: FlushSection,
    pub lease: LeaseSection,
    pub reanchor: ReanchorSection,
}

/// Kinesis reading (`consumer` section).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsumerSection {
    /// Where a shard without a checkpoint starts: `trim_horizon` (replay the retained stream) or `latest`.
    pub initial_position: InitialPosition,
    /// Minimum time between GetRecords calls per shard (200 ms = the 5 calls/s/shard limit).
    pub min_poll_interval_ms: u64,
    pub max_records_per_call: i32,
    pub shard_refresh_secs: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitialPosition {
    TrimHorizon,
    Latest,
}

impl Default for ConsumerSection {
    fn default() -> Self {
        ConsumerSection {
            initial_position: InitialPosition::TrimHorizon,
            min_poll_interval_ms: 200,
            max_records_per_call: 10_000,
            shard_refresh_secs: 10,
        }
    }
}

/// Redis state flushes (`flush` section).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FlushSection {
    /// A flush at least this often while something changed (and at once on anchor changes).
    pub interval_ms: u64,
    /// Levels per side in `{SYMBOL}:book`.
    pub book_depth: usize,
    /// Records applied but not yet flushed before the consumer pauses (Redis outage bound).
    pub max_unflushed_records: usize,
    /// Timeout of one Redis call.
    pub timeout_ms: u64,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
}

impl Default for FlushSection {
    fn default() -> Self {
        FlushSection {
            interval_ms: 100,
            book_depth: 10,
            max_unflushed_records: 20_000,
            timeout_ms: 1_000,
            retry_base_ms: 100,
            retry_max_ms: 5_000,
        }
    }
}

/// Shard leases in Redis (`lease` section).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LeaseSection {
    pub ttl_ms: u64,
    /// Owner id written into the lease; empty = `<hostname>-<pid>`.
    pub owner: String,
}

impl Default for LeaseSection {
    fn default() -> Self {
        LeaseSection {
            ttl_ms: 10_000,
            owner: String::new(),
        }
    }
}

/// Re-anchoring (`reanchor` section).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReanchorSection {
    /// Wait this long for an in-band snapshot before asking the ingestor (`{SYMBOL}:control`).
    pub snapshot_wait_ms: u64,
    /// Failed snapshot tries in one outage before the state is `failed`.
    pub max_failed_tries: u32,
    /// Diffs buffered while waiting for a snapshot.
    pub buffer_capacity: usize,
    /// After `failed`, start a new attempt after this long.
    pub failed_cooldown_ms: u64,
    /// Exchange-time history replayed (without writing) after a restart to rebuild the features.
    pub replay_window_secs: u64,
}

impl Default for ReanchorSection {
    fn default() -> Self {
        ReanchorSection {
            snapshot_wait_ms: 3_000,
            max_failed_tries: 5,
            buffer_capacity: 4_096,
            failed_cooldown_ms: 10_000,
            replay_window_secs: 120,
        }
    }
}

fn positive(path: &str, v: u64, errors: &mut Vec<FieldError>) {
    if v == 0 {
        errors.push(FieldError {
            path: path.into(),
            message: "must be > 0".into(),
        });
    }
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
            consumer: ConsumerSection::default(),
            flush: FlushSection::default(),
            lease: LeaseSection::default(),
            reanchor: ReanchorSection::default(),
        }
    }
}

impl Validate for Config {
    fn validate(&self, errors: &mut Vec<FieldError>) {
        self.shutdown.validate("shutdown", errors);
        self.redis.validate("redis", errors);
        self.kinesis.validate("kinesis", errors);
        svc_kit::validate_symbol("symbol", &self.symbol, errors);
        if self.consumer.min_poll_interval_ms < 200 {
            errors.push(FieldError {
                path: "consumer.min_poll_interval_ms".into(),
                message: "must be >= 200 (Kinesis allows 5 GetRecords/s/shard)".into(),
            });
        }
        if !(1..=10_000).contains(&self.consumer.max_records_per_call) {
            errors.push(FieldError {
                path: "consumer.max_records_per_call".into(),
                message: "must be in 1..=10000".into(),
            });
        }
        positive(
            "consumer.shard_refresh_secs",
            self.consumer.shard_refresh_secs,
            errors,
        );
        positive("flush.interval_ms", self.flush.interval_ms, errors);
        positive("flush.book_depth", self.flush.book_depth as u64, errors);
        positive(
            "flush.max_unflushed_records",
            self.flush.max_unflushed_records as u64,
            errors,
        );
        positive("flush.timeout_ms", self.flush.timeout_ms, errors);
        positive("flush.retry_base_ms", self.flush.retry_base_ms, errors);
        positive("flush.retry_max_ms", self.flush.retry_max_ms, errors);
        if self.lease.ttl_ms < 1_000 {
            errors.push(FieldError {
                path: "lease.ttl_ms".into(),
                message: "must be >= 1000".into(),
            });
        }
        positive(
            "reanchor.snapshot_wait_ms",
            self.reanchor.snapshot_wait_ms,
            errors,
        );
        positive(
            "reanchor.max_failed_tries",
            u64::from(self.reanchor.max_failed_tries),
            errors,
        );
        positive(
            "reanchor.buffer_capacity",
            self.reanchor.buffer_capacity as u64,
            errors,
        );
        positive(
            "reanchor.failed_cooldown_ms",
            self.reanchor.failed_cooldown_ms,
            errors,
        );
    }
}

impl ServiceConfig for Config {
    fn log(&self) -> &LogConfig {
        &self.log
    }
}
