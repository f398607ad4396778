//! Metric lint: every PromQL expression in the alert/recording rules and the Grafana dashboards
//! must only name metrics from this schema, recording rules, or an allow-listed external exporter.

use promql_parser::label::MatchOp;
use promql_parser::parser::{self, Expr};
use promql_parser::util::{ExprVisitor, walk_expr};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Metric-name prefixes owned by external exporters (redis_exporter, node_exporter, YACE
/// CloudWatch exporter, blackbox, Prometheus and Alertmanager themselves).
pub const EXTERNAL_PREFIXES: &[&str] = &[
    "redis_",
    "node_",
    "aws_",
    "prometheus_",
    "alertmanager_",
    "probe_",
    "scrape_",
    "process_",
];
/// Exact external names: synthetic series Prometheus creates itself.
pub const EXTERNAL_NAMES: &[&str] = &["up", "ALERTS", "ALERTS_FOR_STATE"];

/// One problem the lint found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub file: PathBuf,
    pub expr: String,
    pub problem: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} in `{}`", self.file.display(), self.problem, self.expr)
    }
}

/// An expression found in a file, and recording-rule names the file defines.
#[derive(Debug, Default)]
pub struct Extracted {
    pub exprs: Vec<String>,
    pub records: Vec<String>,
}

/// Series names the schema exposes (histograms expand to `_bucket`, `_sum`, `_count`).
pub fn schema_series() -> BTreeSet<String> {
    crate::all_defs().flat_map(|d| d.series_names()).collect()
}

/// Is `name` allowed, given the schema series and recording-rule names?
pub fn is_known(name: &str, schema: &BTreeSet<String>, records: &BTreeSet<String>) -> bool {
    schema.contains(name)
        || records.contains(name)
        || name.contains(':')
        || EXTERNAL_NAMES.contains(&name)
        || EXTERNAL_PREFIXES.iter().any(|p| name.starts_with(p))
}

struct NameCollector(Vec<String>);

impl ExprVisitor for NameCollector {
    type Error = std::convert::Infallible;
    fn pre_visit(&mut self, expr: &Expr) -> Result<bool, Self::Error> {
        let vs = match expr {
            Expr::VectorSelector(vs) => vs,
            Expr::MatrixSelector(ms) => &ms.vs,
            _ => return Ok(true),
        };
        if let Some(name) = &vs.name {
            self.0.push(name.clone());
        }
        for m in &vs.matchers.matchers {
            if m.name == "__name__" && m.op == MatchOp::Equal {
                self.0.push(m.value.clone());
            }
        }
        Ok(true)
    }
}

/// Replace Grafana template variables that stand where PromQL needs a duration.
pub fn substitute_grafana_vars(expr: &str) -> String {
    [
        "$__rate_interval",
        "${__rate_interval}",
        "$__interval",
        "${__interval}",
        "$__range",
        "${interval}",
        "$interval",
    ]
    .iter()
    .fold(expr.to_string(), |acc, v| acc.replace(v, "5m"))
}

/// Metric names referenced by one PromQL expression.
pub fn metric_names(expr: &str) -> Result<Vec<String>, String> {
    let ast = parser::parse(expr)?;
    let mut c = NameCollector(Vec::new());
    let _ = walk_expr(&mut c, &ast);
    Ok(c.0)
}

/// Pull expressions out of a Prometheus rule file (YAML).
pub fn extract_rules(text: &str) -> Result<Extracted, String> {
    let v: Value = serde_saphyr::from_str(text).map_err(|e| format!("invalid YAML: {e}"))?;
    let mut out = Extracted::default();
    for group in v.get("groups").and_then(Value::as_array).into_iter().flatten() {
        for rule in group.get("rules").and_then(Value::as_array).into_iter().flatten() {
            if let Some(e) = rule.get("expr") {
                out.exprs.push(match e {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
            }
            if let Some(r) = rule.get("record").and_then(Value::as_str) {
                out.records.push(r.to_string());
            }
        }
    }
    Ok(out)
}

/// Pull every `expr` string out of a Grafana dashboard (JSON), wherever it is nested.
pub fn extract_dashboard(text: &str) -> Result<Extracted, String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    match (k.as_str(), child) {
                        ("expr", Value::String(s)) if !s.trim().is_empty() => {
                            out.push(substitute_grafana_vars(s))
                        }
                        _ => walk(child, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let v: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let mut out = Extracted::default();
    walk(&v, &mut out.exprs);
    Ok(out)
}

/// Files the lint reads below `root`: `prometheus/rules/**.yml|yaml` and `grafana/**.json`.
pub fn default_files(root: &Path) -> Vec<PathBuf> {
    fn collect(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                collect(&p, exts, out);
            } else if p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| exts.contains(&x))
            {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    collect(&root.join("prometheus/rules"), &["yml", "yaml"], &mut files);
    collect(&root.join("grafana"), &["json"], &mut files);
    files.sort();
    files
}

/// Lint a set of files. Recording rules defined in any of them count as known names.
pub fn lint_files(files: &[PathBuf]) -> (usize, Vec<Finding>) {
    let schema = schema_series();
    let mut findings = Vec::new();
    let mut parsed = Vec::new();
    for f in files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                findings.push(Finding {
                    file: f.clone(),
                    expr: String::new(),
                    problem: format!("unreadable: {e}"),
                });
                continue;
            }
        };
        let is_json = f.extension().is_some_and(|x| x == "json");
        match if is_json {
            extract_dashboard(&text)
        } else {
            extract_rules(&text)
        } {
            Ok(x) => parsed.push((f.clone(), x)),
            Err(e) => findings.push(Finding {
                file: f.clone(),
                expr: String::new(),
                problem: e,
            }),
        }
    }
    let records: BTreeSet<String> = parsed
        .iter()
        .flat_map(|(_, x)| x.records.iter().cloned())
        .collect();
    let mut checked = 0;
    for (file, x) in &parsed {
        for expr in &x.exprs {
            checked += 1;
            match metric_names(expr) {
                Err(e) => findings.push(Finding {
                    file: file.clone(),
                    expr: expr.clone(),
                    problem: format!("PromQL: {e}"),
                }),
                Ok(names) => findings.extend(
                    names
                        .into_iter()
                        .filter(|n| !is_known(n, &schema, &records))
                        .map(|n| Finding {
                            file: file.clone(),
                            expr: expr.clone(),
                            problem: format!("unknown metric `{n}`"),
                        }),
                ),
            }
        }
    }
    (checked, findings)
}
