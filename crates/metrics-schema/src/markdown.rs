//! Renders `docs/metrics.md` from the catalog (a test fails when the committed file is stale).

use crate::def::{MetricDef, MetricType, Origin, Service};
use std::fmt::Write as _;

fn kind(k: MetricType) -> &'static str {
    match k {
        MetricType::Counter => "counter",
        MetricType::Gauge => "gauge",
        MetricType::Histogram => "histogram",
    }
}

fn row(out: &mut String, d: &MetricDef) {
    let labels = d
        .labels
        .iter()
        .map(|l| format!("`{}`: {}", l.name, (l.values)().join(", ")))
        .collect::<Vec<_>>()
        .join("<br>");
    let buckets = d
        .buckets
        .iter()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let origin = match d.origin {
        Origin::Seed => "seed 000",
        Origin::Pipeline => "pipeline",
    };
    let _ = writeln!(
        out,
        "| `{}` | {} | {} | {} | {} | {} |",
        d.name,
        kind(d.kind),
        d.help,
        labels,
        buckets,
        origin
    );
}

/// The whole document.
pub fn render() -> String {
    let mut out = String::from(
        "# Metrics reference\n\n\
         Generated from `crates/metrics-schema` by `cargo run -p metrics-schema -- list --format markdown`.\n\
         Do not edit by hand: `make docs` regenerates it and a test fails when it is stale.\n\n\
         Counters are registered without `_total` and exposed with it (prometheus-client appends it), so the\n\
         names below are exactly what Prometheus stores. Every series (each label combination) exists from the first\n\
         scrape: counters and histograms at zero, gauges at NaN until their value is known (NaN compares\n\
         false, so no alert fires on an unknown value).\n",
    );
    for service in Service::ALL {
        let _ = writeln!(out, "\n## {}\n", service.as_str());
        out.push_str("| name | type | help | labels | buckets | origin |\n|---|---|---|---|---|---|\n");
        for d in crate::all_defs().filter(|d| d.service == service) {
            row(&mut out, d);
        }
    }
    out
}
