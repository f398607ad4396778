//! Command line of the `exchange-sim` binary.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::config::{SimConfig, SourceConfig, Speed};
use crate::faults::Fault;
use crate::synthetic::SyntheticParams;

/// Binance-compatible SBE market-data simulator (WebSocket streams, REST depth, fault injection).
#[derive(Debug, Parser)]
#[command(name = "exchange-sim", version)]
pub struct Args {
    /// Listen address for WebSocket, REST and admin (loopback recommended).
    #[arg(long, default_value = "127.0.0.1:9443", env = "EXCHANGE_SIM_LISTEN")]
    pub listen: SocketAddr,
    /// Replay recordings (plain or .gz), back to back: `<local_recv_ns> <json>` lines, or the
    /// ingestor recorder's `<local_recv_ns> <base64 SBE>` (a DIR = its sbe-*.gz files). Repeatable.
    #[arg(long, value_name = "FILE", conflicts_with = "synthetic")]
    pub replay: Vec<PathBuf>,
    /// Synthetic limit-order-book market (the default when no --replay is given).
    #[arg(long)]
    pub synthetic: bool,
    /// Seed of the synthetic market.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Pacing: a factor of real time (1 = real time) or `max`.
    #[arg(long, default_value = "1")]
    pub speed: Speed,
    /// Restart the replay at its end (clients are disconnected; ids and times keep rising).
    #[arg(long = "loop")]
    pub loop_source: bool,
    /// Require the `X-MBX-APIKEY` header on WebSocket upgrades.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub api_key_required: bool,
    /// Symbol served.
    #[arg(long, default_value = "BTCUSDT")]
    pub symbol: String,
    /// Hold the source until a client subscribes to a stream.
    #[arg(long)]
    pub wait_for_subscriber: bool,
    /// Server ping interval, seconds.
    #[arg(long, default_value_t = 20.0)]
    pub ping_interval_secs: f64,
    /// Disconnect when a ping is unanswered for this long, seconds.
    #[arg(long, default_value_t = 60.0)]
    pub pong_timeout_secs: f64,
    /// Maximum connection lifetime, seconds.
    #[arg(long, default_value_t = 86_400.0)]
    pub max_lifetime_secs: f64,
    /// Per-client outbound queue (frames); a client further behind is disconnected.
    #[arg(long, default_value_t = 4096)]
    pub client_queue: usize,
    /// REST request weight per IP per minute.
    #[arg(long, default_value_t = 6000)]
    pub rest_weight_limit: u32,
    /// A fault armed at start, as the admin JSON (e.g. '{"type":"drop_depth_diffs","count":3}'). Repeatable.
    #[arg(long, value_name = "JSON", value_parser = parse_fault)]
    pub fault: Vec<Fault>,
}

fn parse_fault(s: &str) -> Result<Fault, String> {
    serde_json::from_str(s).map_err(|e| e.to_string())
}

fn secs(v: f64, name: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(v)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("--{name} must be a positive number of seconds, got {v}"))
}

impl Args {
    /// The configuration these arguments describe.
    pub fn into_config(self) -> Result<SimConfig, String> {
        let source = if self.replay.is_empty() {
            SourceConfig::Synthetic {
                seed: self.seed,
                start_time_us: None,
                params: SyntheticParams::default(),
            }
        } else {
            SourceConfig::Replay { files: self.replay }
        };
        let mut cfg = SimConfig::new(self.listen, source);
        cfg.speed = self.speed;
        cfg.loop_source = self.loop_source;
        cfg.api_key_required = self.api_key_required;
        cfg.symbol = self.symbol;
        cfg.wait_for_subscriber = self.wait_for_subscriber;
        cfg.ping_interval = secs(self.ping_interval_secs, "ping-interval-secs")?;
        cfg.pong_timeout = secs(self.pong_timeout_secs, "pong-timeout-secs")?;
        cfg.max_lifetime = secs(self.max_lifetime_secs, "max-lifetime-secs")?;
        cfg.client_queue = self.client_queue;
        cfg.rest_weight_limit = self.rest_weight_limit;
        cfg.faults = self.fault;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_flags_build_a_replay_config_and_bools_take_values() {
        let args = Args::try_parse_from([
            "exchange-sim",
            "--listen",
            "127.0.0.1:0",
            "--replay",
            "a.gz",
            "--replay",
            "b.gz",
            "--speed",
            "max",
            "--loop",
            "--api-key-required",
            "false",
            "--fault",
            r#"{"type":"stall","duration_ms":5}"#,
        ])
        .unwrap();
        let cfg = args.into_config().unwrap();
        assert!(matches!(&cfg.source, SourceConfig::Replay { files } if files.len() == 2));
        assert_eq!(cfg.speed, Speed::Max);
        assert!(cfg.loop_source && !cfg.api_key_required);
        assert_eq!(cfg.faults, [Fault::Stall { duration_ms: 5 }]);
    }

    #[test]
    fn synthetic_is_the_default_and_conflicts_with_replay() {
        let cfg = Args::try_parse_from(["exchange-sim", "--seed", "9"])
            .unwrap()
            .into_config()
            .unwrap();
        assert!(matches!(cfg.source, SourceConfig::Synthetic { seed: 9, .. }));
        assert!(cfg.api_key_required);
        assert!(Args::try_parse_from(["exchange-sim", "--synthetic", "--replay", "x"]).is_err());
        assert!(Args::try_parse_from(["exchange-sim", "--fault", "{}"]).is_err());
        assert!(Args::try_parse_from(["exchange-sim", "--speed", "0"]).is_err());
    }
}
