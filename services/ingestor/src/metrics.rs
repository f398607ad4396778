//! Pre-resolved metric handles for the hot path (no label lookups per frame).

use metrics_schema::IngestorMetrics;
use metrics_schema::labels::{DropReason, ErrorType, Intentional, MessageType, Stage};
use metrics_schema::services::ingestor::{DropLabels, MessageTypeLabels};
use pipeline_events::{DecodeError, StreamKind};
use prometheus_client::metrics::counter::Counter;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct HotMetrics {
    pub all: IngestorMetrics,
    messages: [Counter; 5],
}

fn type_index(t: MessageType) -> usize {
    match t {
        MessageType::Trade => 0,
        MessageType::BestBidAsk => 1,
        MessageType::DepthDiff => 2,
        MessageType::DepthSnapshot => 3,
        MessageType::Unknown => 4,
    }
}

impl HotMetrics {
    pub fn new(all: IngestorMetrics) -> Self {
        let c = |message_type| {
            all.sbe_messages
                .get_or_create(&MessageTypeLabels { message_type })
                .clone()
        };
        let messages = [
            c(MessageType::Trade),
            c(MessageType::BestBidAsk),
            c(MessageType::DepthDiff),
            c(MessageType::DepthSnapshot),
            c(MessageType::Unknown),
        ];
        Self { all, messages }
    }

    pub fn decoded(&self, t: MessageType, took: Duration) {
        if let Some(c) = self.messages.get(type_index(t)) {
            c.inc();
        }
        self.all.sbe_decode_duration.observe(took.as_secs_f64());
    }

    /// A frame that did not decode: counted as an `unknown` message and an error of its class.
    pub fn decode_error(&self, e: &DecodeError) {
        if let Some(c) = self.messages.get(type_index(MessageType::Unknown)) {
            c.inc();
        }
        self.all.error(error_type(e), Stage::Decode);
    }

    pub fn error(&self, t: ErrorType, stage: Stage) {
        self.all.error(t, stage);
    }

    pub fn dropped(&self, reason: DropReason, intentional: Intentional) {
        self.dropped_n(reason, intentional, 1);
    }

    pub fn dropped_n(&self, reason: DropReason, intentional: Intentional, n: u64) {
        self.all
            .events_dropped
            .get_or_create(&DropLabels { reason, intentional })
            .inc_by(n);
    }

    /// A sequence break on `stream`.
    pub fn gap(&self, _stream: StreamKind) {
        self.all.sbe_sequence_gaps.inc();
        self.all.error(ErrorType::SequenceBreak, Stage::Sequence);
    }
}

/// The bounded `error_type` for a decode failure.
pub fn error_type(e: &DecodeError) -> ErrorType {
    match e {
        DecodeError::Truncated { .. } => ErrorType::Truncated,
        DecodeError::WrongSchemaId { .. } | DecodeError::UnsupportedVersion { .. } => {
            ErrorType::UnknownSchema
        }
        DecodeError::UnknownTemplate { .. } => ErrorType::UnknownTemplate,
        DecodeError::GroupTooLarge { .. } => ErrorType::OversizedGroup,
        _ => ErrorType::Malformed,
    }
}
