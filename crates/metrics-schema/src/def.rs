//! Static metric definitions and the machine-readable inventory.

use serde::Serialize;

/// Prometheus metric type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
}

/// Which process exposes a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Ingestor,
    Aggregator,
    Inference,
    /// Registered by every service (process metrics, channel depth).
    Common,
}

impl Service {
    pub const ALL: [Service; 4] = [
        Service::Ingestor,
        Service::Aggregator,
        Service::Inference,
        Service::Common,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Service::Ingestor => "ingestor",
            Service::Aggregator => "aggregator",
            Service::Inference => "inference",
            Service::Common => "common",
        }
    }
}

/// A label key with the closed set of values it may take.
#[derive(Clone, Copy, Debug)]
pub struct LabelDef {
    pub name: &'static str,
    pub values: fn() -> Vec<&'static str>,
}

/// One metric: its exposed name, help, type, labels and buckets.
#[derive(Clone, Copy, Debug)]
pub struct MetricDef {
    /// The name as it appears in the exposition and in PromQL (counters include `_total`).
    pub name: &'static str,
    pub help: &'static str,
    pub kind: MetricType,
    pub labels: &'static [LabelDef],
    /// Histogram upper bounds (without `+Inf`); empty for counters and gauges.
    pub buckets: &'static [f64],
    pub service: Service,
    /// Where the definition comes from: `seed-000` (fixed by the spec) or `pipeline` (ours).
    pub origin: Origin,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Origin {
    #[serde(rename = "seed-000")]
    Seed,
    #[serde(rename = "pipeline")]
    Pipeline,
}

impl MetricDef {
    /// The name handed to prometheus-client, which appends `_total` to counters itself.
    pub fn registration_name(&self) -> &'static str {
        match self.kind {
            MetricType::Counter => self.name.strip_suffix("_total").unwrap_or(self.name),
            _ => self.name,
        }
    }

    /// Every series name this metric produces in an exposition.
    pub fn series_names(&self) -> Vec<String> {
        match self.kind {
            MetricType::Histogram => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|s| format!("{}{s}", self.name))
                .collect(),
            _ => vec![self.name.to_string()],
        }
    }
}

/// Serializable view of a definition, for `metrics-schema list --format json`.
#[derive(Debug, Serialize)]
pub struct InventoryEntry {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub kind: MetricType,
    pub help: &'static str,
    pub service: Service,
    pub origin: Origin,
    pub labels: Vec<InventoryLabel>,
    pub buckets: Vec<f64>,
}

#[derive(Debug, Serialize)]
pub struct InventoryLabel {
    pub name: &'static str,
    pub values: Vec<&'static str>,
}

impl From<&MetricDef> for InventoryEntry {
    fn from(d: &MetricDef) -> Self {
        InventoryEntry {
            name: d.name,
            kind: d.kind,
            help: d.help,
            service: d.service,
            origin: d.origin,
            labels: d
                .labels
                .iter()
                .map(|l| InventoryLabel {
                    name: l.name,
                    values: (l.values)(),
                })
                .collect(),
            buckets: d.buckets.to_vec(),
        }
    }
}

impl MetricDef {
    /// A definition fixed by seed 000.
    pub const fn seed(service: Service, kind: MetricType, name: &'static str, help: &'static str) -> Self {
        MetricDef {
            name,
            help,
            kind,
            labels: &[],
            buckets: &[],
            service,
            origin: Origin::Seed,
        }
    }
    /// A definition the pipeline adds beyond the seed.
    pub const fn ours(service: Service, kind: MetricType, name: &'static str, help: &'static str) -> Self {
        MetricDef {
            name,
            help,
            kind,
            labels: &[],
            buckets: &[],
            service,
            origin: Origin::Pipeline,
        }
    }
    pub const fn labels(mut self, labels: &'static [LabelDef]) -> Self {
        self.labels = labels;
        self
    }
    pub const fn buckets(mut self, buckets: &'static [f64]) -> Self {
        self.buckets = buckets;
        self
    }
}
