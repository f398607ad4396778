//! aggregator: Kinesis → order book + features → Redis, with atomic re-anchoring.
//!
//! * [`convert`], [`state`], [`cursor`], [`encode`], [`stored`] — pure: event conversion, market
//!   state and re-anchor bookkeeping, per-shard checkpoints/replay/dedup, the Redis field layout,
//!   validation of values read back from Redis.
//! * [`store`], [`gate`], [`pipeline`], [`app`] — I/O: Redis (fred), shard leases, the processing
//!   loop, composition.
//!
//! The Redis contract is `docs/redis-contract.md`.

pub mod app;
pub mod config;
pub mod convert;
pub mod cursor;
pub mod encode;
pub mod gate;
pub mod pipeline;
pub mod state;
pub mod store;
pub mod stored;
