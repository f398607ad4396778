//! Ingestor metrics: seed 000 "Ingestor Service" section plus the Kinesis producer.

use crate::def::{MetricDef, MetricType::*, Service::Ingestor};
use crate::label_set;
use crate::labels::*;
use crate::register::*;
use prometheus_client::metrics::{counter::Counter, family::Family, histogram::Histogram};
use prometheus_client::registry::Registry;

label_set!(MessageTypeLabels {
    message_type: MessageType
});
label_set!(RestCallLabels {
    endpoint: RestEndpoint,
    status: HttpStatus
});
label_set!(KinesisErrorLabels {
    error_type: KinesisError
});
label_set!(DropLabels {
    reason: DropReason,
    intentional: Intentional
});
label_set!(ErrorLabels {
    error_type: ErrorType,
    stage: Stage
});
label_set!(TaskExitLabels {
    task: IngestorTask,
    outcome: TaskExit
});
label_set!(InputSourceLabels { source: InputSource });

pub const SBE_CONNECTION_STATUS: MetricDef = MetricDef::seed(
    Ingestor,
    Gauge,
    "ingestor_sbe_connection_status",
    "SBE WebSocket connection status (0=disconnected, 1=connected)",
);
pub const SBE_MESSAGES: MetricDef = MetricDef::seed(
    Ingestor,
    Counter,
    "ingestor_sbe_messages_total",
    "SBE messages processed",
)
.labels(MessageTypeLabels::LABELS);
pub const SBE_DECODE_DURATION: MetricDef = MetricDef::seed(
    Ingestor,
    Histogram,
    "ingestor_sbe_decode_duration_seconds",
    "SBE message decode time",
)
.buckets(&[0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.002]);
pub const SBE_THROUGHPUT: MetricDef = MetricDef::seed(
    Ingestor,
    Gauge,
    "ingestor_sbe_throughput_messages_per_second",
    "SBE message throughput",
);
pub const SBE_SEQUENCE_GAPS: MetricDef = MetricDef::seed(
    Ingestor,
    Counter,
    "ingestor_sbe_sequence_gaps_total",
    "Detected sequence gaps",
);
pub const SBE_RECONNECTIONS: MetricDef = MetricDef::seed(
    Ingestor,
    Counter,
    "ingestor_sbe_reconnections_total",
    "WebSocket reconnections",
);
pub const REST_API_CALLS: MetricDef = MetricDef::seed(
    Ingestor,
    Counter,
    "ingestor_rest_api_calls_total",
    "REST API calls made",
)
.labels(RestCallLabels::LABELS);
pub const REST_API_DURATION: MetricDef = MetricDef::seed(
    Ingestor,
    Histogram,
    "ingestor_rest_api_duration_seconds",
    "REST API call duration",
)
.buckets(&[0.1, 0.2, 0.5, 1.0, 2.0, 5.0]);
pub const REST_RATE_LIMIT_REMAINING: MetricDef = MetricDef::seed(
    Ingestor,
    Gauge,
    "ingestor_rest_rate_limit_remaining",
    "Remaining API rate limit (request weight left in the current minute)",
);
pub const REST_CIRCUIT_BREAKER_STATE: MetricDef = MetricDef::ours(
    Ingestor,
    Gauge,
    "ingestor_rest_circuit_breaker_state",
    "REST circuit breaker state (0=closed, 1=half-open, 2=open)",
);
pub const KINESIS_RECORDS_SENT: MetricDef = MetricDef::ours(
    Ingestor,
    Counter,
    "ingestor_kinesis_records_sent_total",
    "Kinesis records accepted by PutRecords",
);
pub const KINESIS_BYTES_SENT: MetricDef = MetricDef::ours(
    Ingestor,
    Counter,
    "ingestor_kinesis_bytes_sent_total",
    "Bytes of Kinesis record data accepted by PutRecords",
);
pub const KINESIS_FAILED_RECORDS: MetricDef = MetricDef::ours(
    Ingestor,
    Counter,
    "ingestor_kinesis_failed_records_total",
    "Kinesis records rejected by PutRecords (each is retried)",
)
.labels(KinesisErrorLabels::LABELS);
pub const KINESIS_PUT_DURATION: MetricDef = MetricDef::ours(
    Ingestor,
    Histogram,
    "ingestor_kinesis_put_duration_seconds",
    "PutRecords request latency",
)
.buckets(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0]);
pub const KINESIS_BATCH_EVENTS: MetricDef = MetricDef::ours(
    Ingestor,
    Histogram,
    "ingestor_kinesis_batch_events",
    "Pipeline events aggregated into one Kinesis record",
)
.buckets(&[1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0]);
pub const BUFFER_DEPTH: MetricDef = MetricDef::ours(
    Ingestor,
    Gauge,
    "ingestor_buffer_depth",
    "Events waiting in the producer buffer",
);
pub const EVENTS_DROPPED: MetricDef = MetricDef::ours(
    Ingestor,
    Counter,
    "ingestor_events_dropped_total",
    "Events dropped before reaching Kinesis",
)
.labels(DropLabels::LABELS);
pub const ERRORS: MetricDef = MetricDef::ours(
    Ingestor,
    Counter,
    "ingestor_errors_total",
    "Errors by class and pipeline stage",
)
.labels(ErrorLabels::LABELS);
pub const LAST_MESSAGE_AGE: MetricDef = MetricDef::ours(
    Ingestor,
    Gauge,
    "ingestor_last_message_age_seconds",
    "Seconds since the last message from the exchange stream",
);
pub const TASK_EXITS: MetricDef = MetricDef::ours(
    Ingestor,
    Counter,
    "ingestor_task_exits_total",
    "Background tasks that panicked or ended before shutdown (each makes /health unhealthy)",
)
.labels(TaskExitLabels::LABELS);
pub const SNAPSHOT_REQUESTS_EXPIRED: MetricDef = MetricDef::ours(
    Ingestor,
    Counter,
    "ingestor_snapshot_requests_expired_total",
    "Depth snapshot requests dropped after rest.snapshot_request_max_age_secs unsatisfied",
);
pub const OVERSIZED_INPUTS: MetricDef = MetricDef::ours(
    Ingestor,
    Counter,
    "ingestor_oversized_inputs_total",
    "WebSocket messages or REST bodies over their size cap (connection dropped, not read)",
)
.labels(InputSourceLabels::LABELS);
pub const RECORDER_FILES_DELETED: MetricDef = MetricDef::ours(
    Ingestor,
    Counter,
    "ingestor_recorder_files_deleted_total",
    "Recording files deleted by retention (recorder.max_age_hours / recorder.max_bytes)",
);

pub const DEFS: &[MetricDef] = &[
    SBE_CONNECTION_STATUS,
    SBE_MESSAGES,
    SBE_DECODE_DURATION,
    SBE_THROUGHPUT,
    SBE_SEQUENCE_GAPS,
    SBE_RECONNECTIONS,
    REST_API_CALLS,
    REST_API_DURATION,
    REST_RATE_LIMIT_REMAINING,
    REST_CIRCUIT_BREAKER_STATE,
    KINESIS_RECORDS_SENT,
    KINESIS_BYTES_SENT,
    KINESIS_FAILED_RECORDS,
    KINESIS_PUT_DURATION,
    KINESIS_BATCH_EVENTS,
    BUFFER_DEPTH,
    EVENTS_DROPPED,
    ERRORS,
    LAST_MESSAGE_AGE,
    TASK_EXITS,
    SNAPSHOT_REQUESTS_EXPIRED,
    OVERSIZED_INPUTS,
    RECORDER_FILES_DELETED,
];

/// Typed handles for every ingestor metric.
#[derive(Clone, Debug)]
pub struct IngestorMetrics {
    pub sbe_connection_status: LazyGauge,
    pub sbe_messages: Family<MessageTypeLabels, Counter>,
    pub sbe_decode_duration: Histogram,
    pub sbe_throughput: LazyGauge,
    pub sbe_sequence_gaps: Counter,
    pub sbe_reconnections: Counter,
    pub rest_api_calls: Family<RestCallLabels, Counter>,
    pub rest_api_duration: Histogram,
    pub rest_rate_limit_remaining: LazyGauge,
    pub rest_circuit_breaker_state: LazyGauge,
    pub kinesis_records_sent: Counter,
    pub kinesis_bytes_sent: Counter,
    pub kinesis_failed_records: Family<KinesisErrorLabels, Counter>,
    pub kinesis_put_duration: Histogram,
    pub kinesis_batch_events: Histogram,
    pub buffer_depth: LazyGauge,
    pub events_dropped: Family<DropLabels, Counter>,
    pub errors: Family<ErrorLabels, Counter>,
    pub last_message_age: LazyGauge,
    pub task_exits: Family<TaskExitLabels, Counter>,
    pub snapshot_requests_expired: Counter,
    pub oversized_inputs: Family<InputSourceLabels, Counter>,
    pub recorder_files_deleted: Counter,
}

impl IngestorMetrics {
    pub fn register(reg: &mut Registry) -> Self {
        IngestorMetrics {
            sbe_connection_status: gauge(reg, &SBE_CONNECTION_STATUS),
            sbe_messages: counter_family(reg, &SBE_MESSAGES),
            sbe_decode_duration: histogram(reg, &SBE_DECODE_DURATION),
            sbe_throughput: gauge(reg, &SBE_THROUGHPUT),
            sbe_sequence_gaps: counter(reg, &SBE_SEQUENCE_GAPS),
            sbe_reconnections: counter(reg, &SBE_RECONNECTIONS),
            rest_api_calls: counter_family(reg, &REST_API_CALLS),
            rest_api_duration: histogram(reg, &REST_API_DURATION),
            rest_rate_limit_remaining: gauge(reg, &REST_RATE_LIMIT_REMAINING),
            rest_circuit_breaker_state: gauge(reg, &REST_CIRCUIT_BREAKER_STATE),
            kinesis_records_sent: counter(reg, &KINESIS_RECORDS_SENT),
            kinesis_bytes_sent: counter(reg, &KINESIS_BYTES_SENT),
            kinesis_failed_records: counter_family(reg, &KINESIS_FAILED_RECORDS),
            kinesis_put_duration: histogram(reg, &KINESIS_PUT_DURATION),
            kinesis_batch_events: histogram(reg, &KINESIS_BATCH_EVENTS),
            buffer_depth: gauge(reg, &BUFFER_DEPTH),
            events_dropped: counter_family(reg, &EVENTS_DROPPED),
            errors: counter_family(reg, &ERRORS),
            last_message_age: gauge(reg, &LAST_MESSAGE_AGE),
            task_exits: counter_family(reg, &TASK_EXITS),
            snapshot_requests_expired: counter(reg, &SNAPSHOT_REQUESTS_EXPIRED),
            oversized_inputs: counter_family(reg, &OVERSIZED_INPUTS),
            recorder_files_deleted: counter(reg, &RECORDER_FILES_DELETED),
        }
    }

    /// Count one error of a class at a stage.
    pub fn error(&self, error_type: ErrorType, stage: Stage) {
        self.errors
            .get_or_create(&ErrorLabels { error_type, stage })
            .inc();
    }
}
