//! Ingestor: Binance SBE streams + REST depth snapshots → sequence checks → pipeline events →
//! Kinesis. Pure logic (sequence checks, rate limiting, circuit breaker, weight budget,
//! normalisation, the per-frame hot path) lives apart from the I/O modules.

pub mod app;
pub mod assembler;
pub mod breaker;
pub mod clock;
pub mod config;
pub mod control;
pub mod forward;
pub mod ingest;
pub mod metrics;
pub mod normalize;
pub mod pending;
pub mod ratelimit;
pub mod recorder;
pub mod rest;
pub mod retention;
pub mod seq;
pub mod snapshot;
pub mod status;
pub mod stream;
pub mod supervise;
pub mod tls;
pub mod weight;
