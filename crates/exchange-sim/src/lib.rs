//! Binance-compatible SBE market-data simulator.
//!
//! One loopback port serves everything, like Binance's SBE stream endpoint plus its REST API:
//! - WebSocket `/ws/<stream>`, `/stream?streams=a/b` with `<symbol>@trade`, `@bestBidAsk`,
//!   `@depth`, `@depth20` as SBE binary frames (schema 1:0), JSON `SUBSCRIBE` / `UNSUBSCRIBE` /
//!   `LIST_SUBSCRIPTIONS`, pings every 20 s, pong timeout, 24 h lifetime, `X-MBX-APIKEY`;
//! - REST `GET /api/v3/depth` (SBE or JSON, consistent with the streamed update ids),
//!   `/api/v3/exchangeInfo`, `/api/v3/ping`, `/api/v3/time`, with per-IP request weight;
//! - admin `POST /admin/fault`, `DELETE /admin/fault`, `GET /admin/stats`.
//!
//! Sources: [`replay`] of recorded Binance JSON (exact JSON → SBE) or the seeded
//! [`synthetic`] limit-order-book simulation. Start in-process with [`Simulator::start`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), exchange_sim::StartError> {
//! use exchange_sim::{SimConfig, Simulator, SourceConfig, SyntheticParams};
//! let cfg = SimConfig::for_tests(SourceConfig::Synthetic {
//!     seed: 1,
//!     start_time_us: None,
//!     params: SyntheticParams::default(),
//! });
//! let sim = Simulator::start(cfg).await?;
//! println!("{}/ws/btcusdt@depth", sim.ws_url());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

pub mod calibration;
pub mod cli;
pub mod config;
pub mod faults;
pub mod feed;
pub mod frames;
pub mod hub;
pub mod replay;
pub mod server;
pub mod stats;
pub mod streams;
pub mod synthetic;

pub use config::{SimConfig, SourceConfig, Speed};
pub use faults::Fault;
pub use server::{SimHandle, Simulator, StartError};
pub use stats::StatsSnapshot;
pub use streams::StreamKind;
pub use synthetic::{SimEvent, SyntheticMarket, SyntheticParams};
