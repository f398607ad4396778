//! Aggregator metrics: seed 000 "Aggregator Service" section plus book state and buffers.

use crate::def::{MetricDef, MetricType::*, Service::Aggregator};
use crate::label_set;
use crate::labels::*;
use crate::register::*;
pub use crate::services::ingestor::ErrorLabels;
use prometheus_client::metrics::{counter::Counter, family::Family, histogram::Histogram};
use prometheus_client::registry::Registry;

label_set!(RedisOpLabels {
    operation: RedisOperation,
    key_type: KeyType,
    status: OpStatus
});
label_set!(RecordLabels {
    stream: StreamRole,
    status: RecordStatus
});
label_set!(ReanchorLabels {
    status: ReanchorStatus
});
label_set!(RepairLabels { kind: StateRepair });

pub const REDIS_OPERATIONS: MetricDef = MetricDef::seed(
    Aggregator,
    Counter,
    "aggregator_redis_operations_total",
    "Redis operations performed",
)
.labels(RedisOpLabels::LABELS);
pub const REDIS_OPERATION_DURATION: MetricDef = MetricDef::seed(
    Aggregator,
    Histogram,
    "aggregator_redis_operation_duration_seconds",
    "Redis operation latency",
)
.buckets(&[0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01]);
pub const FEATURE_UPDATES: MetricDef = MetricDef::seed(
    Aggregator,
    Counter,
    "aggregator_feature_updates_total",
    "Feature vector updates",
);
pub const FEATURE_COMPUTATION_DURATION: MetricDef = MetricDef::seed(
    Aggregator,
    Histogram,
    "aggregator_feature_computation_duration_seconds",
    "Feature computation time",
)
.buckets(&[0.001, 0.005, 0.01, 0.02, 0.05]);
pub const KINESIS_RECORDS_PROCESSED: MetricDef = MetricDef::seed(
    Aggregator,
    Counter,
    "aggregator_kinesis_records_processed_total",
    "Kinesis records processed",
)
.labels(RecordLabels::LABELS);
pub const KINESIS_LAG: MetricDef = MetricDef::seed(
    Aggregator,
    Gauge,
    "aggregator_kinesis_lag_seconds",
    "Kinesis processing lag",
);
pub const REANCHOR_OPERATIONS: MetricDef = MetricDef::seed(
    Aggregator,
    Counter,
    "aggregator_reanchor_operations_total",
    "Re-anchor operations performed",
)
.labels(ReanchorLabels::LABELS);
pub const REANCHOR_DURATION: MetricDef = MetricDef::seed(
    Aggregator,
    Histogram,
    "aggregator_reanchor_duration_seconds",
    "Re-anchor operation duration",
)
.buckets(&[5.0, 10.0, 20.0, 30.0, 60.0, 120.0]);
pub const BOOK_STATE: MetricDef = MetricDef::ours(
    Aggregator,
    Gauge,
    "aggregator_book_state",
    "Anchor state of the order book (0=synced, 1=buffering, 2=failed)",
);
pub const ANCHOR_EPOCH: MetricDef = MetricDef::ours(
    Aggregator,
    Gauge,
    "aggregator_anchor_epoch",
    "Current anchor epoch (bumps on every gap)",
);
pub const REANCHOR_BUFFER_DEPTH: MetricDef = MetricDef::ours(
    Aggregator,
    Gauge,
    "aggregator_reanchor_buffer_depth",
    "Depth diffs buffered while waiting for a snapshot",
);
pub const REDIS_PIPELINE_COMMANDS: MetricDef = MetricDef::ours(
    Aggregator,
    Histogram,
    "aggregator_redis_pipeline_commands",
    "Commands per state transaction",
)
.buckets(&[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]);
pub const ERRORS: MetricDef = MetricDef::ours(
    Aggregator,
    Counter,
    "aggregator_errors_total",
    "Errors by class and pipeline stage",
)
.labels(ErrorLabels::LABELS);
pub const FEATURE_COMPLETENESS: MetricDef = MetricDef::ours(
    Aggregator,
    Gauge,
    "aggregator_feature_completeness",
    "Share of warm features in the latest vector",
);
pub const STATE_REPAIRS: MetricDef = MetricDef::ours(
    Aggregator,
    Counter,
    "aggregator_state_repairs_total",
    "Garbled or inconsistent Redis state values the aggregator repaired, by kind",
)
.labels(RepairLabels::LABELS);

pub const BOOK_LEVELS_DROPPED: MetricDef = MetricDef::ours(
    Aggregator,
    Counter,
    "aggregator_book_levels_dropped_total",
    "Order book levels not kept because a side was at its depth cap (market::DEFAULT_MAX_LEVELS_PER_SIDE)",
);

pub const DEFS: &[MetricDef] = &[
    REDIS_OPERATIONS,
    REDIS_OPERATION_DURATION,
    FEATURE_UPDATES,
    FEATURE_COMPUTATION_DURATION,
    KINESIS_RECORDS_PROCESSED,
    KINESIS_LAG,
    REANCHOR_OPERATIONS,
    REANCHOR_DURATION,
    BOOK_STATE,
    ANCHOR_EPOCH,
    REANCHOR_BUFFER_DEPTH,
    REDIS_PIPELINE_COMMANDS,
    ERRORS,
    FEATURE_COMPLETENESS,
    STATE_REPAIRS,
    BOOK_LEVELS_DROPPED,
];

/// Typed handles for every aggregator metric.
#[derive(Clone, Debug)]
pub struct AggregatorMetrics {
    pub redis_operations: Family<RedisOpLabels, Counter>,
    pub redis_operation_duration: Histogram,
    pub feature_updates: Counter,
    pub feature_computation_duration: Histogram,
    pub kinesis_records_processed: Family<RecordLabels, Counter>,
    pub kinesis_lag: LazyGauge,
    pub reanchor_operations: Family<ReanchorLabels, Counter>,
    pub reanchor_duration: Histogram,
    pub book_state: LazyGauge,
    pub anchor_epoch: LazyGauge,
    pub reanchor_buffer_depth: LazyGauge,
    pub redis_pipeline_commands: Histogram,
    pub errors: Family<ErrorLabels, Counter>,
    pub feature_completeness: LazyGauge,
    pub state_repairs: Family<RepairLabels, Counter>,
    pub book_levels_dropped: Counter,
}

impl AggregatorMetrics {
    pub fn register(reg: &mut Registry) -> Self {
        AggregatorMetrics {
            redis_operations: counter_family(reg, &REDIS_OPERATIONS),
            redis_operation_duration: histogram(reg, &REDIS_OPERATION_DURATION),
            feature_updates: counter(reg, &FEATURE_UPDATES),
            feature_computation_duration: histogram(reg, &FEATURE_COMPUTATION_DURATION),
            kinesis_records_processed: counter_family(reg, &KINESIS_RECORDS_PROCESSED),
            kinesis_lag: gauge(reg, &KINESIS_LAG),
            reanchor_operations: counter_family(reg, &REANCHOR_OPERATIONS),
            reanchor_duration: histogram(reg, &REANCHOR_DURATION),
            book_state: gauge(reg, &BOOK_STATE),
            anchor_epoch: gauge(reg, &ANCHOR_EPOCH),
            reanchor_buffer_depth: gauge(reg, &REANCHOR_BUFFER_DEPTH),
            redis_pipeline_commands: histogram(reg, &REDIS_PIPELINE_COMMANDS),
            errors: counter_family(reg, &ERRORS),
            feature_completeness: gauge(reg, &FEATURE_COMPLETENESS),
            state_repairs: counter_family(reg, &STATE_REPAIRS),
            book_levels_dropped: counter(reg, &BOOK_LEVELS_DROPPED),
        }
    }

    /// Count one error of a class at a stage.
    pub fn error(&self, error_type: ErrorType, stage: Stage) {
        self.errors
            .get_or_create(&ErrorLabels { error_type, stage })
            .inc();
    }
}
