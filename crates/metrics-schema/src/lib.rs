//! The single source of every metric the pipeline exposes: names, help, types, labels (closed
//! enums) and buckets, taken from seed 000 where it defines them.
//!
//! Services build their registry once at start with [`ServiceRegistry::new`] and the typed
//! `*Metrics::register` of their service, then never register again.

pub mod def;
pub mod labels;
pub mod lint;
pub mod markdown;
pub mod register;
pub mod services;

pub use def::{InventoryEntry, MetricDef, MetricType, Origin, Service};
pub use services::aggregator::AggregatorMetrics;
pub use services::common::CommonMetrics;
pub use services::inference::InferenceMetrics;
pub use services::ingestor::IngestorMetrics;

/// Every definition, in a stable order.
pub fn all_defs() -> impl Iterator<Item = &'static MetricDef> {
    services::ingestor::DEFS
        .iter()
        .chain(services::aggregator::DEFS)
        .chain(services::inference::DEFS)
        .chain(services::common::DEFS)
}

/// Definitions a given service exposes (its own plus the common ones).
pub fn defs_for(service: Service) -> impl Iterator<Item = &'static MetricDef> {
    all_defs().filter(move |d| d.service == service || d.service == Service::Common)
}

/// The machine-readable inventory.
pub fn inventory() -> Vec<InventoryEntry> {
    all_defs().map(InventoryEntry::from).collect()
}

/// Encode a registry in OpenMetrics text format.
pub fn encode(registry: &prometheus_client::registry::Registry) -> String {
    let mut out = String::with_capacity(16 * 1024);
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, registry);
    out
}
