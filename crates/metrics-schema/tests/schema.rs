#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The schema's promises: exact exposed names, golden expositions, unique names, conventions.

use metrics_schema::{
    AggregatorMetrics, CommonMetrics, InferenceMetrics, IngestorMetrics, MetricType, Service,
};
use prometheus_client::registry::Registry;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn exposition(service: Service) -> String {
    let mut reg = Registry::default();
    CommonMetrics::register(&mut reg);
    match service {
        Service::Ingestor => drop(IngestorMetrics::register(&mut reg)),
        Service::Aggregator => drop(AggregatorMetrics::register(&mut reg)),
        Service::Inference => drop(InferenceMetrics::register(&mut reg)),
        Service::Common => {}
    }
    metrics_schema::encode(&reg)
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.txt"))
}

/// prometheus-client keeps label sets in a HashMap, so series order varies between processes:
/// sort the sample lines inside each family (headers stay first) before comparing.
fn normalize(text: &str) -> String {
    let mut out = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    let flush = |block: &mut Vec<&str>, out: &mut Vec<String>| {
        block.sort();
        out.extend(block.drain(..).map(str::to_string));
    };
    for line in text.lines() {
        if line.starts_with('#') {
            flush(&mut block, &mut out);
            out.push(line.to_string());
        } else {
            block.push(line);
        }
    }
    flush(&mut block, &mut out);
    out.join("\n") + "\n"
}

fn check_golden(service: Service) {
    let actual = normalize(&exposition(service));
    let path = golden_path(service.as_str());
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing {} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(
        actual,
        expected,
        "exposition of {} changed; review and rerun with UPDATE_GOLDEN=1",
        service.as_str()
    );
}

#[test]
fn ingestor_exposition_matches_golden() {
    check_golden(Service::Ingestor);
}

#[test]
fn aggregator_exposition_matches_golden() {
    check_golden(Service::Aggregator);
}

#[test]
fn inference_exposition_matches_golden() {
    check_golden(Service::Inference);
}

/// The seed's names, typed out independently of the catalog, must be exposed exactly.
#[test]
fn every_seed_metric_is_exposed_under_its_exact_seed_name() {
    let seed: &[(Service, &str)] = &[
        (Service::Inference, "inference_total_latency_seconds_bucket"),
        (Service::Inference, "inference_redis_read_duration_seconds_bucket"),
        (
            Service::Inference,
            "inference_model_prediction_duration_seconds_bucket",
        ),
        (Service::Inference, "inference_predictions_total"),
        (Service::Inference, "inference_feature_age_seconds_bucket"),
        (Service::Inference, "inference_feature_completeness_bucket"),
        (Service::Inference, "inference_confidence_score_bucket"),
        (Service::Inference, "inference_fallback_predictions_total"),
        (Service::Inference, "model_directional_accuracy_bucket"),
        (Service::Inference, "model_mean_absolute_error_bucket"),
        (Service::Inference, "model_prediction_correlation_bucket"),
        (Service::Inference, "model_confidence_calibration_bucket"),
        (Service::Aggregator, "aggregator_redis_operations_total"),
        (
            Service::Aggregator,
            "aggregator_redis_operation_duration_seconds_bucket",
        ),
        (Service::Aggregator, "aggregator_feature_updates_total"),
        (
            Service::Aggregator,
            "aggregator_feature_computation_duration_seconds_bucket",
        ),
        (Service::Aggregator, "aggregator_kinesis_records_processed_total"),
        (Service::Aggregator, "aggregator_reanchor_operations_total"),
        (Service::Aggregator, "aggregator_reanchor_duration_seconds_bucket"),
        (Service::Ingestor, "ingestor_sbe_messages_total"),
        (Service::Ingestor, "ingestor_sbe_decode_duration_seconds_bucket"),
        (Service::Ingestor, "ingestor_sbe_sequence_gaps_total"),
        (Service::Ingestor, "ingestor_sbe_reconnections_total"),
        (Service::Ingestor, "ingestor_rest_api_calls_total"),
        (Service::Ingestor, "ingestor_rest_api_duration_seconds_bucket"),
    ];
    for (service, name) in seed {
        let text = exposition(*service);
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} "))),
            "{name} not exposed by {}",
            service.as_str()
        );
    }
    // Gauges appear once set; their names are fixed by the catalog.
    let gauges: BTreeSet<_> = metrics_schema::all_defs()
        .filter(|d| d.kind == MetricType::Gauge)
        .map(|d| d.name)
        .collect();
    for g in [
        "ingestor_sbe_connection_status",
        "ingestor_sbe_throughput_messages_per_second",
        "ingestor_rest_rate_limit_remaining",
        "aggregator_kinesis_lag_seconds",
        "service_uptime_ratio",
        "service_error_budget_remaining",
    ] {
        assert!(gauges.contains(g), "{g}");
    }
}

#[test]
fn seed_buckets_are_exact() {
    let find = |n: &str| {
        metrics_schema::all_defs()
            .find(|d| d.name == n)
            .unwrap()
            .buckets
            .to_vec()
    };
    assert_eq!(
        find("inference_total_latency_seconds"),
        vec![0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]
    );
    assert_eq!(
        find("aggregator_reanchor_duration_seconds"),
        vec![5.0, 10.0, 20.0, 30.0, 60.0, 120.0]
    );
    assert_eq!(
        find("ingestor_sbe_decode_duration_seconds"),
        vec![0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.002]
    );
    assert_eq!(
        find("model_mean_absolute_error"),
        vec![10.0, 25.0, 50.0, 100.0, 200.0, 500.0]
    );
    let text = exposition(Service::Inference);
    assert!(
        text.contains("inference_total_latency_seconds_bucket{le=\"0.005\"} 0"),
        "{text}"
    );
}

#[test]
fn metric_names_are_unique_across_services() {
    let mut seen = BTreeSet::new();
    for d in metrics_schema::all_defs() {
        assert!(seen.insert(d.name), "duplicate metric name {}", d.name);
    }
}

#[test]
fn names_follow_prometheus_conventions() {
    for d in metrics_schema::all_defs() {
        assert!(
            d.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{}",
            d.name
        );
        assert!(!d.help.is_empty(), "{} has no help", d.name);
        match d.kind {
            MetricType::Counter => assert!(
                d.name.ends_with("_total"),
                "counter {} must end in _total",
                d.name
            ),
            MetricType::Gauge | MetricType::Histogram => {
                assert!(!d.name.ends_with("_total"), "{} is not a counter", d.name)
            }
        }
        if d.kind == MetricType::Histogram {
            assert!(!d.buckets.is_empty(), "{} has no buckets", d.name);
            assert!(
                d.buckets.windows(2).all(|w| w[0] < w[1]),
                "{} buckets not increasing",
                d.name
            );
        }
        let prefix_ok = match d.service {
            Service::Ingestor => d.name.starts_with("ingestor_"),
            Service::Aggregator => d.name.starts_with("aggregator_"),
            Service::Inference => ["inference_", "model_", "service_"]
                .iter()
                .any(|p| d.name.starts_with(p)),
            Service::Common => d.name.starts_with("process_") || d.name.starts_with("pipeline_"),
        };
        assert!(prefix_ok, "{} has the wrong prefix for {:?}", d.name, d.service);
        for l in d.labels {
            assert!(
                !(l.values)().is_empty(),
                "{}: label {} has no values",
                d.name,
                l.name
            );
        }
    }
}

#[test]
fn inventory_json_lists_every_metric_with_type_labels_and_buckets() {
    let inv = serde_json::to_value(metrics_schema::inventory()).unwrap();
    let arr = inv.as_array().unwrap();
    assert_eq!(arr.len(), metrics_schema::all_defs().count());
    let rest = arr
        .iter()
        .find(|e| e["name"] == "ingestor_rest_api_calls_total")
        .unwrap();
    assert_eq!(rest["type"], "counter");
    assert_eq!(rest["service"], "ingestor");
    assert_eq!(rest["labels"][1]["name"], "status");
    assert!(
        rest["labels"][1]["values"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "429")
    );
}

#[test]
fn docs_metrics_md_is_up_to_date() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/metrics.md");
    let expected = metrics_schema::markdown::render();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/metrics.md is stale: run `make docs` (or UPDATE_GOLDEN=1 cargo test -p metrics-schema)"
    );
}

/// Every seed-000 metric of the three services: (service, name, type, buckets), typed out from the
/// seed (`/work/shared/reference/seeds/000_*.txt`, "metrics" blocks), independently of the catalog.
const SEED: &[(Service, &str, &str, &[f64])] = &[
    (
        Service::Inference,
        "inference_total_latency_seconds",
        "histogram",
        &[0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5],
    ),
    (
        Service::Inference,
        "inference_redis_read_duration_seconds",
        "histogram",
        &[0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02],
    ),
    (
        Service::Inference,
        "inference_model_prediction_duration_seconds",
        "histogram",
        &[0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1],
    ),
    (Service::Inference, "inference_predictions_total", "counter", &[]),
    (
        Service::Inference,
        "inference_feature_age_seconds",
        "histogram",
        &[0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0],
    ),
    (
        Service::Inference,
        "inference_feature_completeness",
        "histogram",
        &[0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 1.0],
    ),
    (
        Service::Inference,
        "inference_confidence_score",
        "histogram",
        &[0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0],
    ),
    (
        Service::Inference,
        "inference_fallback_predictions_total",
        "counter",
        &[],
    ),
    (
        Service::Inference,
        "model_directional_accuracy",
        "histogram",
        &[0.45, 0.50, 0.55, 0.60, 0.65, 0.70],
    ),
    (
        Service::Inference,
        "model_mean_absolute_error",
        "histogram",
        &[10.0, 25.0, 50.0, 100.0, 200.0, 500.0],
    ),
    (
        Service::Inference,
        "model_prediction_correlation",
        "histogram",
        &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
    ),
    (
        Service::Inference,
        "model_confidence_calibration",
        "histogram",
        &[0.7, 0.8, 0.85, 0.9, 0.95, 0.98],
    ),
    (Service::Inference, "service_uptime_ratio", "gauge", &[]),
    (Service::Inference, "service_error_budget_remaining", "gauge", &[]),
    (
        Service::Aggregator,
        "aggregator_redis_operations_total",
        "counter",
        &[],
    ),
    (
        Service::Aggregator,
        "aggregator_redis_operation_duration_seconds",
        "histogram",
        &[0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01],
    ),
    (
        Service::Aggregator,
        "aggregator_feature_updates_total",
        "counter",
        &[],
    ),
    (
        Service::Aggregator,
        "aggregator_feature_computation_duration_seconds",
        "histogram",
        &[0.001, 0.005, 0.01, 0.02, 0.05],
    ),
    (
        Service::Aggregator,
        "aggregator_kinesis_records_processed_total",
        "counter",
        &[],
    ),
    (
        Service::Aggregator,
        "aggregator_kinesis_lag_seconds",
        "gauge",
        &[],
    ),
    (
        Service::Aggregator,
        "aggregator_reanchor_operations_total",
        "counter",
        &[],
    ),
    (
        Service::Aggregator,
        "aggregator_reanchor_duration_seconds",
        "histogram",
        &[5.0, 10.0, 20.0, 30.0, 60.0, 120.0],
    ),
    (Service::Ingestor, "ingestor_sbe_connection_status", "gauge", &[]),
    (Service::Ingestor, "ingestor_sbe_messages_total", "counter", &[]),
    (
        Service::Ingestor,
        "ingestor_sbe_decode_duration_seconds",
        "histogram",
        &[0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.002],
    ),
    (
        Service::Ingestor,
        "ingestor_sbe_throughput_messages_per_second",
        "gauge",
        &[],
    ),
    (
        Service::Ingestor,
        "ingestor_sbe_sequence_gaps_total",
        "counter",
        &[],
    ),
    (
        Service::Ingestor,
        "ingestor_sbe_reconnections_total",
        "counter",
        &[],
    ),
    (Service::Ingestor, "ingestor_rest_api_calls_total", "counter", &[]),
    (
        Service::Ingestor,
        "ingestor_rest_api_duration_seconds",
        "histogram",
        &[0.1, 0.2, 0.5, 1.0, 2.0, 5.0],
    ),
    (
        Service::Ingestor,
        "ingestor_rest_rate_limit_remaining",
        "gauge",
        &[],
    ),
];

/// The goldens are snapshots of the code's own output (`UPDATE_GOLDEN` rewrites them); this reads
/// the golden files themselves and checks them against the seed table above: the `# TYPE` line,
/// a sample of the exposed name, and for histograms exactly the seed's bucket bounds plus `+Inf`.
/// A regenerated golden that lost or changed a seed metric fails here even though
/// `*_exposition_matches_golden` passes.
#[test]
fn goldens_hold_every_seed_metric_with_its_seed_type_and_buckets() {
    let mut checked = 0;
    for (service, name, kind, buckets) in SEED {
        let path = golden_path(service.as_str());
        let text = std::fs::read_to_string(&path).unwrap();
        // OpenMetrics: a counter family drops `_total`, its samples keep it.
        let family = match *kind {
            "counter" => name
                .strip_suffix("_total")
                .unwrap_or_else(|| panic!("{name}: seed counter without _total")),
            _ => name,
        };
        let type_line = format!("# TYPE {family} {kind}");
        assert!(
            text.lines().any(|l| l == type_line),
            "{}: no `{type_line}`",
            path.display()
        );
        let sample = |n: &str| {
            text.lines()
                .any(|l| l.starts_with(&format!("{n}{{")) || l.starts_with(&format!("{n} ")))
        };
        match *kind {
            "histogram" => {
                for suffix in ["_count", "_sum"] {
                    assert!(
                        sample(&format!("{name}{suffix}")),
                        "{}: no {name}{suffix}",
                        path.display()
                    );
                }
                let prefix = format!("{name}_bucket{{");
                let mut les: Vec<f64> = text
                    .lines()
                    .filter(|l| l.starts_with(&prefix))
                    .filter_map(|l| l.split("le=\"").nth(1)?.split('"').next().map(str::to_string))
                    .map(|le| {
                        if le == "+Inf" {
                            f64::INFINITY
                        } else {
                            le.parse().unwrap()
                        }
                    })
                    .collect();
                les.sort_by(f64::total_cmp);
                les.dedup();
                let mut want = buckets.to_vec();
                want.push(f64::INFINITY);
                assert_eq!(les, want, "{}: bucket bounds of {name}", path.display());
            }
            _ => {
                assert!(buckets.is_empty());
                assert!(sample(name), "{}: no sample of {name}", path.display());
            }
        }
        checked += 1;
    }
    assert_eq!(
        checked, 31,
        "seed-000 metrics of ingestor, aggregator and inference"
    );
}
