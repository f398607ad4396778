#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The metric lint accepts schema and external names and rejects anything else.

use metrics_schema::lint::{lint_files, metric_names};
use std::path::PathBuf;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const GOOD_RULES: &str = r#"
groups:
  - name: t
    rules:
      - record: job:inference_total_latency_seconds:p99_2m
        expr: histogram_quantile(0.99, sum by (le) (rate(inference_total_latency_seconds_bucket[2m])))
      - alert: A
        expr: job:inference_total_latency_seconds:p99_2m > 0.1 and up{job="inference-service"} == 1
      - alert: B
        expr: redis_memory_used_bytes / redis_memory_max_bytes > 0.85
      - alert: C
        expr: sum(rate(inference_fallback_predictions_total[5m])) / sum(rate(inference_predictions_total[5m])) > 0.1
"#;

#[test]
fn rules_using_schema_recorded_and_external_names_pass() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(&dir, "ok.yml", GOOD_RULES);
    let (checked, findings) = lint_files(&[f]);
    assert_eq!(checked, 4);
    assert!(findings.is_empty(), "{findings:?}");
}

#[test]
fn an_unknown_metric_name_in_a_rule_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        &dir,
        "bad.yml",
        "groups:\n- name: g\n  rules:\n  - alert: X\n    expr: rate(inference_predictionz_total[2m]) < 0.4\n",
    );
    let (_, findings) = lint_files(&[f]);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].problem.contains("inference_predictionz_total"));
}

#[test]
fn an_unknown_metric_in_a_grafana_panel_is_rejected_and_template_variables_parse() {
    let dir = tempfile::tempdir().unwrap();
    let dash = r#"{"panels":[{"id":1,"targets":[{"expr":"sum(rate(ingestor_sbe_messages_total{job=~\"$service\"}[$__rate_interval]))"}]},
        {"id":2,"targets":[{"expr":"aggregator_made_up_seconds"}]}]}"#;
    let f = write(&dir, "d.json", dash);
    let (checked, findings) = lint_files(&[f]);
    assert_eq!(checked, 2);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].problem.contains("aggregator_made_up_seconds"));
}

#[test]
fn invalid_promql_is_reported_not_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        &dir,
        "bad.yml",
        "groups:\n- name: g\n  rules:\n  - alert: X\n    expr: sum(rate(up[1m])\n",
    );
    let (_, findings) = lint_files(&[f]);
    assert_eq!(findings.len(), 1);
    assert!(findings[0].problem.starts_with("PromQL"), "{findings:?}");
}

#[test]
fn name_matchers_count_as_metric_references() {
    let names = metric_names(r#"{__name__="ingestor_sbe_messages_total"}"#).unwrap();
    assert_eq!(names, vec!["ingestor_sbe_messages_total".to_string()]);
}

#[test]
fn the_repository_rules_and_dashboards_pass_the_lint() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let files = metrics_schema::lint::default_files(&root);
    // Listed independently of the lint: every rules file and dashboard must be among its inputs,
    // and every expression in them must have been checked (an empty input set must not pass).
    let listed = |dir: &str, ext: &str| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == ext))
            .collect();
        v.sort();
        v
    };
    let (rules, dashboards) = (
        listed("prometheus/rules", "yml"),
        listed("grafana/dashboards", "json"),
    );
    assert!(
        rules.len() >= 5 && dashboards.len() >= 2,
        "{rules:?} {dashboards:?}"
    );
    for f in rules.iter().chain(&dashboards) {
        let f = f.canonicalize().unwrap();
        assert!(
            files.iter().any(|g| g.canonicalize().unwrap() == f),
            "{} is not linted",
            f.display()
        );
    }
    let count = |fs: &[PathBuf], pat: &str| -> usize {
        fs.iter()
            .map(|f| {
                let text = std::fs::read_to_string(f).unwrap();
                text.lines().filter(|l| l.trim_start().starts_with(pat)).count()
            })
            .sum()
    };
    let expected = count(&rules, "expr:") + count(&dashboards, "\"expr\":");
    let (checked, findings) = lint_files(&files);
    assert!(
        expected > 100,
        "{expected} expressions found by a plain text scan"
    );
    assert_eq!(
        checked, expected,
        "expressions linted vs found by a plain text scan"
    );
    assert!(
        findings.is_empty(),
        "{}",
        findings
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
