//! Pure, versioned feature engine (no I/O, no async), used online by the aggregator and offline by the
//! dataset builder.
//!
//! * [`spec`] — the single source of the feature list: [`FEATURE_VERSION`], [`FEATURE_NAMES`].
//! * [`FeatureEngine`] — incremental per event (O(1) windows, O(log n) return lookups), keyed on exchange
//!   event time so a replay is deterministic.
//! * [`compute_batch`] — naive from-scratch recomputation (the property-test oracle).
//!
//! Inputs: best bid/ask and trade events plus top-N book views from `market`. All values except
//! `mid_price` are scale-free (bps, ratios, log volumes) so a model trained at one price level works at
//! another.

pub mod batch;
pub mod engine;
pub mod history;
pub mod input;
pub mod math;
pub mod spec;
pub mod vector;
pub mod windows;

pub use batch::compute_batch;
pub use engine::{EngineCounters, FeatureEngine};
pub use input::FeatureInput;
pub use spec::{FEATURE_NAMES, FEATURE_VERSION, FEATURES, FeatureSpec, N_FEATURES, feature_list_signature};
pub use vector::FeatureVector;
