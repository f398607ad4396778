//! inference: Redis features → ONNX model → a prediction every 2 s, published to a bounded Redis
//! stream and the HTTP API, scored 10 s later against the realized mid.
//!
//! Pure modules (no I/O): [`schedule`], [`contract`], [`decision`], [`prediction`], [`evaluation`],
//! [`slo`], [`health`], [`drift`], [`quality`], [`policy`]. I/O: [`store`] (Redis), [`push_store`] (features pushed by the aggregator, pure part [`push`]), [`models`]/[`reload`] (files), [`hot_path`] and
//! [`tick`] (the loop), [`shadow`] (the challenger), [`promotion`]/[`audit`] (switches),
//! [`api`]/[`sse`] (HTTP), composed in [`app`].

pub mod admin;
pub mod api;
pub mod app;
pub mod audit;
pub mod config;
pub mod contract;
pub mod decision;
pub mod drift;
pub mod drift_metrics;
pub mod evaluation;
pub mod health;
pub mod hot_path;
pub mod lifecycle;
pub mod lifecycle_api;
pub mod models;
pub mod policy;
pub mod prediction;
pub mod promotion;
pub mod push;
pub mod push_store;
pub mod quality;
pub mod reload;
pub mod schedule;
pub mod shadow;
pub mod slo;
pub mod sse;
pub mod state;
pub mod store;
pub mod supervision;
pub mod tick;
