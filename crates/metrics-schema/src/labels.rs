//! Bounded label values. Every label value a service can emit is a variant of one of these enums,
//! so no metric can grow an unbounded series set from free text.

use prometheus_client::encoding::{EncodeLabelValue, LabelValueEncoder};
use std::fmt::Write as _;

/// A closed set of label values.
pub trait LabelValue: Copy + 'static {
    /// Every value, in a stable order (used to pre-create series and to document the schema).
    const ALL: &'static [Self];
    /// The exact string exposed to Prometheus.
    fn as_str(self) -> &'static str;
    /// Every value as strings, for the inventory.
    fn all_strs() -> Vec<&'static str> {
        Self::ALL.iter().map(|v| v.as_str()).collect()
    }
}

macro_rules! label_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl LabelValue for $name {
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl EncodeLabelValue for $name {
            fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
                encoder.write_str(self.as_str())
            }
        }
    };
}

label_enum!(
    /// Kind of SBE message received from the exchange stream.
    MessageType {
        Trade => "trade",
        BestBidAsk => "best_bid_ask",
        DepthDiff => "depth_diff",
        DepthSnapshot => "depth_snapshot",
        Unknown => "unknown",
    }
);

label_enum!(
    /// Exchange REST endpoint called by the ingestor.
    RestEndpoint { Depth => "depth", ExchangeInfo => "exchange_info", Ping => "ping" }
);

label_enum!(
    /// Outcome of a REST call. Specific codes the client reacts to are their own values; other
    /// client and server errors are grouped so `status=~"4..|5.."` still matches them.
    HttpStatus {
        Ok => "200",
        Teapot => "418",
        TooManyRequests => "429",
        ClientError => "4xx",
        ServerError => "5xx",
        Timeout => "timeout",
        Transport => "transport",
    }
);

label_enum!(
    /// Redis operation performed by the aggregator.
    RedisOperation {
        StateTransaction => "state_transaction",
        Read => "read",
        Lease => "lease",
        ControlPublish => "control_publish",
    }
);

label_enum!(
    /// Which Redis key family an operation touched.
    KeyType {
        Features => "features",
        Book => "book",
        Anchor => "anchor",
        Checkpoint => "checkpoint",
        Lease => "lease",
        Control => "control",
    }
);

label_enum!(
    /// Binary outcome.
    OpStatus { Ok => "ok", Error => "error" }
);

label_enum!(
    /// Logical Kinesis stream role (not the AWS stream name, which is configuration).
    StreamRole { MarketEvents => "market_events" }
);

label_enum!(
    /// What happened to one Kinesis record in the aggregator.
    RecordStatus {
        Applied => "applied",
        Poison => "poison",
        UnknownSchema => "unknown_schema",
        Duplicate => "duplicate",
    }
);

label_enum!(
    /// Outcome of a re-anchor operation.
    ReanchorStatus { Success => "success", Failed => "failed", Superseded => "superseded" }
);

label_enum!(
    /// Why a prediction came from the fallback predictor instead of the model. `market_stale`: the
    /// features' last exchange event is older than the market-age bound (exchange or network stall,
    /// backlog replay, Redis restored from an old state); `clock_skew`: it lies further in the
    /// future than the clock-skew allowance.
    FallbackReason {
        StaleFeatures => "stale_features",
        IncompleteFeatures => "incomplete_features",
        AnchorNotSynced => "anchor_not_synced",
        NoFeatures => "no_features",
        RedisUnavailable => "redis_unavailable",
        ModelUnavailable => "model_unavailable",
        ModelError => "model_error",
        BaselineVariant => "baseline_variant",
        MarketStale => "market_stale",
        ClockSkew => "clock_skew",
    }
);

label_enum!(
    /// Stage of the inference hot path.
    HotPathStage { Total => "total", RedisRead => "redis_read", Model => "model", Publish => "publish" }
);

label_enum!(
    /// Outcome of a model (re)load.
    ReloadStatus { Success => "success", Rejected => "rejected" }
);

label_enum!(
    /// Which model variant serves predictions.
    ModelVariant { Ml => "ml", Baseline => "baseline" }
);

label_enum!(
    /// Error classes, shared by every service's `*_errors_total`.
    ErrorType {
        Truncated => "truncated",
        Malformed => "malformed",
        UnknownTemplate => "unknown_template",
        UnknownSchema => "unknown_schema",
        OversizedGroup => "oversized_group",
        SequenceBreak => "sequence_break",
        Timeout => "timeout",
        Connection => "connection",
        Throttled => "throttled",
        Rejected => "rejected",
        Internal => "internal",
    }
);

label_enum!(
    /// Pipeline stage where an error was counted.
    Stage {
        Websocket => "websocket",
        Decode => "decode",
        Sequence => "sequence",
        Rest => "rest",
        Kinesis => "kinesis",
        Redis => "redis",
        Features => "features",
        Model => "model",
        Http => "http",
    }
);

label_enum!(
    /// Why an event was dropped by the ingestor.
    DropReason {
        BufferFull => "buffer_full",
        Shutdown => "shutdown",
        Oversized => "oversized",
        Unsubscribed => "unsubscribed",
    }
);

label_enum!(
    /// Whether a drop was a deliberate policy decision (true) or a failure (false).
    Intentional { Yes => "true", No => "false" }
);

label_enum!(
    /// Kinesis record-level failure reasons.
    KinesisError {
        Throughput => "provisioned_throughput_exceeded",
        Internal => "internal_failure",
        Kms => "kms",
        Request => "request",
    }
);

label_enum!(
    /// Bounded channels whose depth is exported.
    Channel {
        Frames => "frames",
        Events => "events",
        Records => "records",
        Flush => "flush",
        Predictions => "predictions",
        Evaluation => "evaluation",
    }
);

label_enum!(
    /// The ingestor's supervised background tasks.
    IngestorTask {
        Stream => "stream",
        Snapshot => "snapshot",
        Control => "control",
        Monitor => "monitor",
        Producer => "producer",
        Recorder => "recorder",
    }
);

label_enum!(
    /// How a supervised task ended before shutdown.
    TaskExit { Panicked => "panicked", Ended => "ended" }
);

label_enum!(
    /// Where an input larger than its configured cap arrived.
    InputSource { Websocket => "websocket", Rest => "rest" }
);

label_enum!(
    /// What the aggregator found garbled or inconsistent in its Redis state and repaired.
    StateRepair {
        EpochRegression => "epoch_regression",
        CorruptAnchorEpoch => "corrupt_anchor_epoch",
        CorruptFence => "corrupt_fence",
        CorruptCheckpoint => "corrupt_checkpoint",
    }
);

label_enum!(
    /// Route of the inference prediction API (`services/inference/src/api.rs`). Any path that is
    /// not one of the API's routes is `other`, so scanners cannot grow the series set.
    ApiRoute {
        PredictionsLatest => "predictions_latest",
        Predictions => "predictions",
        PredictionsStream => "predictions_stream",
        Model => "model",
        AdminVariant => "admin_variant",
        AdminPromote => "admin_promote",
        AdminRollback => "admin_rollback",
        Other => "other",
    }
);

label_enum!(
    /// Class of an HTTP error response: 4xx (the caller's request) or 5xx (the service).
    HttpErrorClass { Client => "4xx", Server => "5xx" }
);

label_enum!(
    /// A feature of the contract (`crates/features`, scale-free ones: the price level `mid_price`
    /// has no drift reference). The inference service tests that this list equals the contract's.
    DriftFeature {
        MicropriceDevBps => "microprice_dev_bps",
        SpreadBps => "spread_bps",
        BookImbalance1 => "book_imbalance_1",
        BookImbalance5 => "book_imbalance_5",
        BookImbalance10 => "book_imbalance_10",
        Ofi1s => "ofi_1s",
        Ofi5s => "ofi_5s",
        Ofi10s => "ofi_10s",
        Ofi30s => "ofi_30s",
        Tfi1s => "tfi_1s",
        Tfi5s => "tfi_5s",
        Tfi10s => "tfi_10s",
        Tfi30s => "tfi_30s",
        LogVolume1s => "log_volume_1s",
        LogVolume5s => "log_volume_5s",
        LogVolume10s => "log_volume_10s",
        LogVolume30s => "log_volume_30s",
        Return1sBps => "return_1s_bps",
        Return5sBps => "return_5s_bps",
        Return10sBps => "return_10s_bps",
        Return30sBps => "return_30s_bps",
        Return60sBps => "return_60s_bps",
        RealizedVol10sBps => "realized_vol_10s_bps",
        RealizedVol60sBps => "realized_vol_60s_bps",
        TradeRate10s => "trade_rate_10s",
        VwapDev30sBps => "vwap_dev_30s_bps",
        TimeSinceLastTradeS => "time_since_last_trade_s",
    }
);

label_enum!(
    /// Role of a model in the live comparison: the one serving (`champion`) or one scored in shadow
    /// (`challenger`, issue 17; NaN / 0 while no challenger is loaded).
    ModelRole { Champion => "champion", Challenger => "challenger" }
);

label_enum!(
    /// A model lifecycle switch (issue 17): an admin promotion of the challenger, an admin rollback to
    /// the previous champion, or a promotion decided by the automatic policy.
    LifecycleAction { Promote => "promote", Rollback => "rollback", AutoPromote => "auto_promote" }
);

label_enum!(
    /// What became of one challenger run in shadow: published to its stream, the model failed, or
    /// the stream write failed (the champion's prediction is never affected).
    ShadowOutcome {
        Published => "published",
        ModelError => "model_error",
        PublishError => "publish_error",
    }
);

label_enum!(
    /// Where a tick's features came from (issue 18): the snapshot the aggregator pushed, held in
    /// memory (no round trip), or today's `HGETALL` read.
    FeatureSource { Push => "push", Read => "read" }
);

label_enum!(
    /// Why a tick read the features instead of using the pushed snapshot (docs/redis-contract.md).
    PushFallback {
        Disconnected => "disconnected",
        NoSnapshot => "no_snapshot",
        Silent => "silent",
        Lagging => "lagging",
    }
);

label_enum!(
    /// What became of one message on the pushed-features channel: kept as the newest snapshot,
    /// refused as malformed, or dropped because the receive queue overflowed.
    PushMessageOutcome { Accepted => "accepted", Malformed => "malformed", Dropped => "dropped" }
);
