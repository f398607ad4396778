//! Inference metrics: seed 000 "Inference Service" section, the business metrics (`model_*`,
//! `service_*`), and microsecond companions for the hot path.

use crate::def::{MetricDef, MetricType::*, Service::Inference};
use crate::label_set;
use crate::labels::*;
use crate::register::*;
pub use crate::services::ingestor::ErrorLabels;
use prometheus_client::metrics::{counter::Counter, family::Family, histogram::Histogram};
use prometheus_client::registry::Registry;

label_set!(FallbackLabels {
    reason: FallbackReason
});
label_set!(StageLabels { stage: HotPathStage });
label_set!(ReloadLabels { status: ReloadStatus });
label_set!(VariantLabels {
    variant: ModelVariant
});
label_set!(ApiRouteLabels { route: ApiRoute });
label_set!(RoleLabels { model: ModelRole });
label_set!(LifecycleLabels {
    action: LifecycleAction
});
label_set!(ShadowLabels {
    outcome: ShadowOutcome
});
label_set!(DriftLabels {
    feature: DriftFeature
});
label_set!(FeatureSourceLabels {
    source: FeatureSource
});
label_set!(PushFallbackLabels { reason: PushFallback });
label_set!(PushMessageLabels {
    outcome: PushMessageOutcome
});
label_set!(ApiErrorLabels {
    route: ApiRoute,
    class: HttpErrorClass
});

/// Microsecond-resolution buckets for the hot path (the seed's start at 1 ms).
pub const MICRO_BUCKETS: &[f64] = &[
    0.000025, 0.00005, 0.000075, 0.0001, 0.00015, 0.0002, 0.0003, 0.0005, 0.00075, 0.001, 0.002, 0.005, 0.01,
];

pub const TOTAL_LATENCY: MetricDef = MetricDef::seed(
    Inference,
    Histogram,
    "inference_total_latency_seconds",
    "End-to-end prediction latency",
)
.buckets(&[0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]);
pub const REDIS_READ_DURATION: MetricDef = MetricDef::seed(
    Inference,
    Histogram,
    "inference_redis_read_duration_seconds",
    "Redis feature read time",
)
.buckets(&[0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02]);
pub const MODEL_PREDICTION_DURATION: MetricDef = MetricDef::seed(
    Inference,
    Histogram,
    "inference_model_prediction_duration_seconds",
    "Model inference time",
)
.buckets(&[0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1]);
pub const PREDICTIONS: MetricDef = MetricDef::seed(
    Inference,
    Counter,
    "inference_predictions_total",
    "Total predictions generated",
);
pub const FEATURE_AGE: MetricDef = MetricDef::seed(
    Inference,
    Histogram,
    "inference_feature_age_seconds",
    "Age of input features",
)
.buckets(&[0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0]);
pub const FEATURE_COMPLETENESS: MetricDef = MetricDef::seed(
    Inference,
    Histogram,
    "inference_feature_completeness",
    "Feature completeness score",
)
.buckets(&[0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 1.0]);
pub const CONFIDENCE_SCORE: MetricDef = MetricDef::seed(
    Inference,
    Histogram,
    "inference_confidence_score",
    "Prediction confidence distribution",
)
.buckets(&[0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0]);
pub const FALLBACK_PREDICTIONS: MetricDef = MetricDef::seed(
    Inference,
    Counter,
    "inference_fallback_predictions_total",
    "Fallback predictions used, by reason",
)
.labels(FallbackLabels::LABELS);
pub const DIRECTIONAL_ACCURACY: MetricDef = MetricDef::seed(
    Inference,
    Histogram,
    "model_directional_accuracy",
    "Percentage of correct direction predictions (rolling window, observed per scored prediction)",
)
.buckets(&[0.45, 0.50, 0.55, 0.60, 0.65, 0.70]);
pub const MEAN_ABSOLUTE_ERROR: MetricDef = MetricDef::seed(
    Inference,
    Histogram,
    "model_mean_absolute_error",
    "Average absolute prediction error in USD (rolling window)",
)
.buckets(&[10.0, 25.0, 50.0, 100.0, 200.0, 500.0]);
pub const PREDICTION_CORRELATION: MetricDef = MetricDef::seed(
    Inference,
    Histogram,
    "model_prediction_correlation",
    "Correlation between predicted and actual prices (rolling window)",
)
.buckets(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
pub const CONFIDENCE_CALIBRATION: MetricDef = MetricDef::seed(
    Inference,
    Histogram,
    "model_confidence_calibration",
    "Confidence score vs actual accuracy alignment (1 - |confidence - accuracy|, rolling window)",
)
.buckets(&[0.7, 0.8, 0.85, 0.9, 0.95, 0.98]);
pub const UPTIME_RATIO: MetricDef = MetricDef::seed(
    Inference,
    Gauge,
    "service_uptime_ratio",
    "Service availability: successful ticks / total ticks over the SLO window",
);
pub const ERROR_BUDGET_REMAINING: MetricDef = MetricDef::seed(
    Inference,
    Gauge,
    "service_error_budget_remaining",
    "Remaining error budget: 1 - (error ratio / 0.001)",
);
pub const STAGE_DURATION: MetricDef = MetricDef::ours(
    Inference,
    Histogram,
    "inference_stage_duration_seconds",
    "Hot-path stage latency with microsecond buckets",
)
.labels(StageLabels::LABELS)
.buckets(MICRO_BUCKETS);
pub const TICK_JITTER: MetricDef = MetricDef::ours(
    Inference,
    Histogram,
    "inference_tick_jitter_seconds",
    "Delay between the scheduled tick instant and the tick start",
)
.buckets(&[0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5]);
pub const MODEL_RELOADS: MetricDef = MetricDef::ours(
    Inference,
    Counter,
    "inference_model_reloads_total",
    "Model load attempts by outcome",
)
.labels(ReloadLabels::LABELS);
pub const MODEL_VARIANT_ACTIVE: MetricDef = MetricDef::ours(
    Inference,
    Gauge,
    "inference_model_variant_active",
    "1 for the model variant currently serving",
)
.labels(VariantLabels::LABELS);
pub const ERRORS: MetricDef = MetricDef::ours(
    Inference,
    Counter,
    "inference_errors_total",
    "Errors by class and pipeline stage",
)
.labels(ErrorLabels::LABELS);

pub const MARKET_AGE: MetricDef = MetricDef::ours(
    Inference,
    Histogram,
    "inference_market_age_seconds",
    "Wall clock minus the exchange event time of the features used (negative values count as 0)",
)
.buckets(&[0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 120.0]);
pub const DUPLICATE_SLOT_WRITES: MetricDef = MetricDef::ours(
    Inference,
    Counter,
    "inference_duplicate_slot_writes_total",
    "Ticks not published because another inference process already published that slot",
);

pub const HTTP_REQUESTS: MetricDef = MetricDef::ours(
    Inference,
    Counter,
    "inference_http_requests_total",
    "Prediction API requests answered, by route (unknown paths: other)",
)
.labels(ApiRouteLabels::LABELS);
pub const HTTP_ERRORS: MetricDef = MetricDef::ours(
    Inference,
    Counter,
    "inference_http_request_errors_total",
    "Prediction API error responses, by route and status class (4xx, 5xx)",
)
.labels(ApiErrorLabels::LABELS);
pub const HTTP_DURATION: MetricDef = MetricDef::ours(
    Inference,
    Histogram,
    "inference_http_request_duration_seconds",
    "Prediction API time to response headers, by route (for the SSE stream: until the stream opens)",
)
.labels(ApiRouteLabels::LABELS)
.buckets(&[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
]);
pub const FEATURE_DRIFT_PSI: MetricDef = MetricDef::ours(
    Inference,
    Gauge,
    "inference_feature_drift_psi",
    "Population stability index of each feature over the live window vs the ML model's training distribution (NaN: no reference or too few vectors)",
)
.labels(DriftLabels::LABELS);
pub const FEATURE_DRIFT_WINDOW: MetricDef = MetricDef::ours(
    Inference,
    Gauge,
    "inference_feature_drift_window_vectors",
    "Live feature vectors in the drift window (restarts at 0 when the ML model changes)",
);
const fn live(name: &'static str, help: &'static str) -> MetricDef {
    MetricDef::ours(Inference, Gauge, name, help).labels(RoleLabels::LABELS)
}
pub const LIVE_ACCURACY: MetricDef = live(
    "inference_model_live_accuracy",
    "Directional accuracy on moved 10 s windows over the rolling evaluation window (NaN below 30 moved windows)",
);
pub const LIVE_LOG_LOSS: MetricDef = live(
    "inference_model_live_log_loss",
    "Log-loss of p_up on moved windows over the rolling evaluation window (coin flip: 0.693)",
);
pub const LIVE_BRIER: MetricDef = live(
    "inference_model_live_brier",
    "Brier score of p_up on moved windows over the rolling evaluation window (coin flip: 0.25)",
);
pub const LIVE_CALIBRATION_ERROR: MetricDef = live(
    "inference_model_live_calibration_error",
    "Expected calibration error of p_up (10 equal-width bins) on moved windows over the rolling evaluation window",
);
pub const LIVE_MOVED_WINDOWS: MetricDef = live(
    "inference_model_live_moved_windows",
    "Moved 10 s windows the live scores rest on (the n of their intervals)",
);
pub const SCORED_PREDICTIONS: MetricDef = MetricDef::ours(
    Inference,
    Counter,
    "inference_model_scored_predictions_total",
    "Predictions scored against the realised mid 10 s later, by model role",
)
.labels(RoleLabels::LABELS);
pub const MODEL_PROMOTIONS: MetricDef = MetricDef::ours(
    Inference,
    Counter,
    "inference_model_promotions_total",
    "Champion switches: admin promotions of the challenger, admin rollbacks, automatic promotions",
)
.labels(LifecycleLabels::LABELS);
pub const CHALLENGER_RUNS: MetricDef = MetricDef::ours(
    Inference,
    Counter,
    "inference_challenger_runs_total",
    "Challenger runs in shadow after the champion published, by outcome",
)
.labels(ShadowLabels::LABELS);

pub const FEATURE_SOURCE: MetricDef = MetricDef::ours(
    Inference,
    Counter,
    "inference_feature_source_total",
    "Ticks by where their features came from: the pushed snapshot in memory or a Redis read",
)
.labels(FeatureSourceLabels::LABELS);
pub const PUSH_FALLBACKS: MetricDef = MetricDef::ours(
    Inference,
    Counter,
    "inference_feature_push_fallbacks_total",
    "Ticks that read the features because the pushed snapshot could not be used, by reason",
)
.labels(PushFallbackLabels::LABELS);
pub const PUSH_MESSAGES: MetricDef = MetricDef::ours(
    Inference,
    Counter,
    "inference_feature_push_messages_total",
    "Messages received on the pushed-features channel, by outcome",
)
.labels(PushMessageLabels::LABELS);
pub const PUSH_DELAY: MetricDef = MetricDef::ours(
    Inference,
    Histogram,
    "inference_feature_push_delay_seconds",
    "Pushed features: receipt here minus the flush's compute_time_us (aggregator clock; negative counts as 0)",
)
.buckets(&[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
]);

pub const DEFS: &[MetricDef] = &[
    TOTAL_LATENCY,
    REDIS_READ_DURATION,
    MODEL_PREDICTION_DURATION,
    PREDICTIONS,
    FEATURE_AGE,
    FEATURE_COMPLETENESS,
    CONFIDENCE_SCORE,
    FALLBACK_PREDICTIONS,
    DIRECTIONAL_ACCURACY,
    MEAN_ABSOLUTE_ERROR,
    PREDICTION_CORRELATION,
    CONFIDENCE_CALIBRATION,
    UPTIME_RATIO,
    ERROR_BUDGET_REMAINING,
    STAGE_DURATION,
    TICK_JITTER,
    MODEL_RELOADS,
    MODEL_VARIANT_ACTIVE,
    ERRORS,
    MARKET_AGE,
    DUPLICATE_SLOT_WRITES,
    HTTP_REQUESTS,
    HTTP_ERRORS,
    HTTP_DURATION,
    FEATURE_DRIFT_PSI,
    FEATURE_DRIFT_WINDOW,
    LIVE_ACCURACY,
    LIVE_LOG_LOSS,
    LIVE_BRIER,
    LIVE_CALIBRATION_ERROR,
    LIVE_MOVED_WINDOWS,
    SCORED_PREDICTIONS,
    MODEL_PROMOTIONS,
    CHALLENGER_RUNS,
    FEATURE_SOURCE,
    PUSH_FALLBACKS,
    PUSH_MESSAGES,
    PUSH_DELAY,
];

/// Typed handles for every inference metric.
#[derive(Clone, Debug)]
pub struct InferenceMetrics {
    pub total_latency: Histogram,
    pub redis_read_duration: Histogram,
    pub model_prediction_duration: Histogram,
    pub predictions: Counter,
    pub feature_age: Histogram,
    pub feature_completeness: Histogram,
    pub confidence_score: Histogram,
    pub fallback_predictions: Family<FallbackLabels, Counter>,
    pub directional_accuracy: Histogram,
    pub mean_absolute_error: Histogram,
    pub prediction_correlation: Histogram,
    pub confidence_calibration: Histogram,
    pub uptime_ratio: LazyGauge,
    pub error_budget_remaining: LazyGauge,
    pub stage_duration: Family<StageLabels, Histogram, Buckets>,
    pub tick_jitter: Histogram,
    pub model_reloads: Family<ReloadLabels, Counter>,
    pub model_variant_active: Family<VariantLabels, GaugeF>,
    pub errors: Family<ErrorLabels, Counter>,
    pub market_age: Histogram,
    pub duplicate_slot_writes: Counter,
    pub http_requests: Family<ApiRouteLabels, Counter>,
    pub http_errors: Family<ApiErrorLabels, Counter>,
    pub http_duration: Family<ApiRouteLabels, Histogram, Buckets>,
    pub feature_drift_psi: Family<DriftLabels, GaugeF>,
    pub feature_drift_window: LazyGauge,
    pub live_accuracy: Family<RoleLabels, GaugeF>,
    pub live_log_loss: Family<RoleLabels, GaugeF>,
    pub live_brier: Family<RoleLabels, GaugeF>,
    pub live_calibration_error: Family<RoleLabels, GaugeF>,
    pub live_moved_windows: Family<RoleLabels, GaugeF>,
    pub scored_predictions: Family<RoleLabels, Counter>,
    pub model_promotions: Family<LifecycleLabels, Counter>,
    pub challenger_runs: Family<ShadowLabels, Counter>,
    pub feature_source: Family<FeatureSourceLabels, Counter>,
    pub push_fallbacks: Family<PushFallbackLabels, Counter>,
    pub push_messages: Family<PushMessageLabels, Counter>,
    pub push_delay: Histogram,
}

impl InferenceMetrics {
    pub fn register(reg: &mut Registry) -> Self {
        InferenceMetrics {
            total_latency: histogram(reg, &TOTAL_LATENCY),
            redis_read_duration: histogram(reg, &REDIS_READ_DURATION),
            model_prediction_duration: histogram(reg, &MODEL_PREDICTION_DURATION),
            predictions: counter(reg, &PREDICTIONS),
            feature_age: histogram(reg, &FEATURE_AGE),
            feature_completeness: histogram(reg, &FEATURE_COMPLETENESS),
            confidence_score: histogram(reg, &CONFIDENCE_SCORE),
            fallback_predictions: counter_family(reg, &FALLBACK_PREDICTIONS),
            directional_accuracy: histogram(reg, &DIRECTIONAL_ACCURACY),
            mean_absolute_error: histogram(reg, &MEAN_ABSOLUTE_ERROR),
            prediction_correlation: histogram(reg, &PREDICTION_CORRELATION),
            confidence_calibration: histogram(reg, &CONFIDENCE_CALIBRATION),
            uptime_ratio: gauge(reg, &UPTIME_RATIO),
            error_budget_remaining: gauge(reg, &ERROR_BUDGET_REMAINING),
            stage_duration: histogram_family(reg, &STAGE_DURATION),
            tick_jitter: histogram(reg, &TICK_JITTER),
            model_reloads: counter_family(reg, &MODEL_RELOADS),
            model_variant_active: gauge_family(reg, &MODEL_VARIANT_ACTIVE),
            errors: counter_family(reg, &ERRORS),
            market_age: histogram(reg, &MARKET_AGE),
            duplicate_slot_writes: counter(reg, &DUPLICATE_SLOT_WRITES),
            http_requests: counter_family(reg, &HTTP_REQUESTS),
            http_errors: counter_family(reg, &HTTP_ERRORS),
            http_duration: histogram_family(reg, &HTTP_DURATION),
            feature_drift_psi: gauge_family(reg, &FEATURE_DRIFT_PSI),
            feature_drift_window: gauge(reg, &FEATURE_DRIFT_WINDOW),
            live_accuracy: gauge_family(reg, &LIVE_ACCURACY),
            live_log_loss: gauge_family(reg, &LIVE_LOG_LOSS),
            live_brier: gauge_family(reg, &LIVE_BRIER),
            live_calibration_error: gauge_family(reg, &LIVE_CALIBRATION_ERROR),
            live_moved_windows: gauge_family(reg, &LIVE_MOVED_WINDOWS),
            scored_predictions: counter_family(reg, &SCORED_PREDICTIONS),
            model_promotions: counter_family(reg, &MODEL_PROMOTIONS),
            challenger_runs: counter_family(reg, &CHALLENGER_RUNS),
            feature_source: counter_family(reg, &FEATURE_SOURCE),
            push_fallbacks: counter_family(reg, &PUSH_FALLBACKS),
            push_messages: counter_family(reg, &PUSH_MESSAGES),
            push_delay: histogram(reg, &PUSH_DELAY),
        }
    }

    /// Count one tick's features source (and, for a read, why the pushed snapshot was not used).
    pub fn feature_source(&self, source: FeatureSource, fallback: Option<PushFallback>) {
        self.feature_source
            .get_or_create(&FeatureSourceLabels { source })
            .inc();
        if let Some(reason) = fallback {
            self.push_fallbacks
                .get_or_create(&PushFallbackLabels { reason })
                .inc();
        }
    }

    /// Count `n` pushed-features messages with this outcome.
    pub fn push_message(&self, outcome: PushMessageOutcome, n: u64) {
        self.push_messages
            .get_or_create(&PushMessageLabels { outcome })
            .inc_by(n);
    }

    /// Observe one pushed message's delivery delay in seconds.
    pub fn push_delay(&self, seconds: f64) {
        self.push_delay.observe(seconds);
    }

    /// Observe one hot-path stage duration in seconds.
    pub fn stage(&self, stage: HotPathStage, seconds: f64) {
        self.stage_duration
            .get_or_create(&StageLabels { stage })
            .observe(seconds);
    }

    /// Record one answered API request: count, latency and, for a 4xx/5xx status, its error class.
    pub fn http_request(&self, route: ApiRoute, status: u16, seconds: f64) {
        let labels = ApiRouteLabels { route };
        self.http_requests.get_or_create(&labels).inc();
        self.http_duration.get_or_create(&labels).observe(seconds);
        let class = match status {
            400..=499 => Some(HttpErrorClass::Client),
            500..=599 => Some(HttpErrorClass::Server),
            _ => None,
        };
        if let Some(class) = class {
            self.http_errors
                .get_or_create(&ApiErrorLabels { route, class })
                .inc();
        }
    }

    /// Set the live quality gauges of one model role (`None`: unknown, exported as NaN).
    pub fn live_quality(
        &self,
        model: ModelRole,
        moved: usize,
        accuracy: Option<f64>,
        log_loss: Option<f64>,
        brier: Option<f64>,
        calibration_error: Option<f64>,
    ) {
        let l = RoleLabels { model };
        let nan = |v: Option<f64>| v.unwrap_or(f64::NAN);
        self.live_moved_windows.get_or_create(&l).set(moved as f64);
        self.live_accuracy.get_or_create(&l).set(nan(accuracy));
        self.live_log_loss.get_or_create(&l).set(nan(log_loss));
        self.live_brier.get_or_create(&l).set(nan(brier));
        self.live_calibration_error
            .get_or_create(&l)
            .set(nan(calibration_error));
    }

    /// Mark `variant` as the one serving (and the other as not).
    pub fn set_variant(&self, variant: ModelVariant) {
        for &v in ModelVariant::ALL {
            let on = if v == variant { 1.0 } else { 0.0 };
            self.model_variant_active
                .get_or_create(&VariantLabels { variant: v })
                .set(on);
        }
    }
}
