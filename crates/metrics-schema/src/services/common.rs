//! Metrics every service registers: process resources, build info and bounded-channel depth.

use crate::def::{MetricDef, MetricType::*, Service::Common};
use crate::label_set;
use crate::labels::*;
use crate::register::*;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

label_set!(ChannelLabels { channel: Channel });

pub const RESIDENT_MEMORY: MetricDef = MetricDef::ours(
    Common,
    Gauge,
    "process_resident_memory_bytes",
    "Resident memory size in bytes",
);
pub const CPU_SECONDS: MetricDef = MetricDef::ours(
    Common,
    Counter,
    "process_cpu_seconds_total",
    "Total user and system CPU time spent in seconds",
);
pub const START_TIME: MetricDef = MetricDef::ours(
    Common,
    Gauge,
    "process_start_time_seconds",
    "Start time of the process since the Unix epoch in seconds",
);
pub const OPEN_FDS: MetricDef = MetricDef::ours(
    Common,
    Gauge,
    "process_open_fds",
    "Number of open file descriptors",
);
pub const CHANNEL_DEPTH: MetricDef = MetricDef::ours(
    Common,
    Gauge,
    "pipeline_channel_depth",
    "Messages queued in a bounded internal channel",
)
.labels(ChannelLabels::LABELS);
pub const CHANNEL_CAPACITY: MetricDef = MetricDef::ours(
    Common,
    Gauge,
    "pipeline_channel_capacity",
    "Capacity of a bounded internal channel",
)
.labels(ChannelLabels::LABELS);

pub const DEFS: &[MetricDef] = &[
    RESIDENT_MEMORY,
    CPU_SECONDS,
    START_TIME,
    OPEN_FDS,
    CHANNEL_DEPTH,
    CHANNEL_CAPACITY,
];

/// Typed handles for the common metrics.
#[derive(Clone, Debug)]
pub struct CommonMetrics {
    pub resident_memory: LazyGauge,
    pub cpu_seconds: CounterF,
    pub start_time: LazyGauge,
    pub open_fds: LazyGauge,
    pub channel_depth: Family<ChannelLabels, GaugeF>,
    pub channel_capacity: Family<ChannelLabels, GaugeF>,
}

impl CommonMetrics {
    pub fn register(reg: &mut Registry) -> Self {
        CommonMetrics {
            resident_memory: gauge(reg, &RESIDENT_MEMORY),
            cpu_seconds: counter_f64(reg, &CPU_SECONDS),
            start_time: gauge(reg, &START_TIME),
            open_fds: gauge(reg, &OPEN_FDS),
            channel_depth: gauge_family(reg, &CHANNEL_DEPTH),
            channel_capacity: gauge_family(reg, &CHANNEL_CAPACITY),
        }
    }
}
