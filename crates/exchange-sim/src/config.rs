//! Simulator configuration (built by the CLI or directly by tests).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::faults::Fault;
use crate::synthetic::SyntheticParams;

/// Where market events come from.
#[derive(Debug, Clone)]
pub enum SourceConfig {
    /// Replay recordings (plain or gzip), in order: `<local_recv_ns> <json>` lines or the ingestor
    /// recorder's `<local_recv_ns> <base64 SBE frame>` (a directory = its `sbe-*.gz` files).
    Replay {
        /// Files, replayed back to back.
        files: Vec<PathBuf>,
    },
    /// Seeded limit-order-book simulation.
    Synthetic {
        /// RNG seed: the same seed gives the same event sequence.
        seed: u64,
        /// Exchange time of the first event (µs since the Unix epoch); `None` = wall clock at start.
        start_time_us: Option<u64>,
        /// Model parameters.
        params: SyntheticParams,
    },
}

/// Pacing of the source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// Simulated time runs `factor` times faster than wall time (1.0 = real time).
    Factor(f64),
    /// As fast as the slowest connected client consumes (back-pressure instead of slow-client drops).
    Max,
}

impl std::str::FromStr for Speed {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("max") {
            return Ok(Self::Max);
        }
        match s.parse::<f64>() {
            Ok(f) if f.is_finite() && f > 0.0 => Ok(Self::Factor(f)),
            _ => Err(format!("`{s}` is neither `max` nor a positive factor")),
        }
    }
}

/// Everything the simulator needs to start.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Listen address (REST, WebSocket and admin share it). Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Event source.
    pub source: SourceConfig,
    /// Pacing.
    pub speed: Speed,
    /// Restart the source when it ends (replay): clients are disconnected, ids and times keep rising.
    pub loop_source: bool,
    /// Reject WebSocket upgrades without an `X-MBX-APIKEY` header.
    pub api_key_required: bool,
    /// Traded symbol (upper case), e.g. `BTCUSDT`.
    pub symbol: String,
    /// Hold the source until at least one client has subscribed to a stream.
    pub wait_for_subscriber: bool,
    /// Server ping interval (Binance: 20 s).
    pub ping_interval: Duration,
    /// Disconnect a client that has not answered a ping for this long (Binance: 60 s).
    pub pong_timeout: Duration,
    /// Maximum connection lifetime (Binance: 24 h).
    pub max_lifetime: Duration,
    /// Client messages (text, ping, pong) allowed per second before disconnecting (Binance: 5;
    /// 0 disables the check).
    pub client_message_limit: u32,
    /// Per-client outbound queue (frames); a client further behind than this is disconnected.
    pub client_queue: usize,
    /// REST request weight allowed per IP per window (Binance: 6000 per minute).
    pub rest_weight_limit: u32,
    /// Length of the REST weight window (Binance: 1 minute).
    pub rest_window: Duration,
    /// 429 answers within one window after which the IP is banned (418).
    pub ban_after_violations: u32,
    /// How long a ban lasts (Binance: 2 min for a first offence).
    pub ban_duration: Duration,
    /// Interval of `@depth20` snapshots (Binance: 50 ms), in exchange time.
    pub depth20_interval: Duration,
    /// Faults armed at start.
    pub faults: Vec<Fault>,
}

impl SimConfig {
    /// Binance-like defaults on `listen` for `source`.
    pub fn new(listen: SocketAddr, source: SourceConfig) -> Self {
        Self {
            listen,
            source,
            speed: Speed::Factor(1.0),
            loop_source: false,
            api_key_required: true,
            symbol: "BTCUSDT".into(),
            wait_for_subscriber: false,
            ping_interval: Duration::from_secs(20),
            pong_timeout: Duration::from_secs(60),
            max_lifetime: Duration::from_secs(24 * 3600),
            client_message_limit: 5,
            client_queue: 4096,
            rest_weight_limit: 6000,
            rest_window: Duration::from_secs(60),
            ban_after_violations: 3,
            ban_duration: Duration::from_secs(120),
            depth20_interval: Duration::from_millis(50),
            faults: Vec::new(),
        }
    }

    /// Defaults for an in-process test: loopback port 0, max speed, no API key, wait for a subscriber.
    pub fn for_tests(source: SourceConfig) -> Self {
        let mut cfg = Self::new(SocketAddr::from(([127, 0, 0, 1], 0)), source);
        cfg.speed = Speed::Max;
        cfg.api_key_required = false;
        cfg.wait_for_subscriber = true;
        cfg
    }

    /// Lower-case symbol as used in stream names.
    pub fn stream_symbol(&self) -> String {
        self.symbol.to_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_parses_max_and_positive_factors_only() {
        assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
        assert_eq!("MAX".parse::<Speed>(), Ok(Speed::Max));
        assert_eq!("2.5".parse::<Speed>(), Ok(Speed::Factor(2.5)));
        assert!("0".parse::<Speed>().is_err());
        assert!("-1".parse::<Speed>().is_err());
        assert!("fast".parse::<Speed>().is_err());
    }
}
