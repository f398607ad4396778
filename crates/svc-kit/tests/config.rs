#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Configuration: YAML + env overrides, unknown keys rejected, all problems reported at once.

use serde::{Deserialize, Serialize};
use svc_kit::config::{FieldError, Validate, load_from};

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct Redis {
    url: String,
    pool: u32,
}
impl Default for Redis {
    fn default() -> Self {
        Redis {
            url: "redis://127.0.0.1:6379".into(),
            pool: 2,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct Cfg {
    redis: Redis,
    interval_ms: u64,
}
impl Validate for Cfg {
    fn validate(&self, errors: &mut Vec<FieldError>) {
        if self.interval_ms > 60_000 {
            errors.push(FieldError {
                path: "interval_ms".into(),
                message: "must be at most 60000".into(),
            });
        }
    }
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn an_empty_config_yields_defaults() {
    let c: Cfg = load_from("", "SVC", env(&[])).unwrap();
    assert_eq!(c, Cfg::default());
}

#[test]
fn environment_overrides_the_file_with_typed_values() {
    let c: Cfg = load_from(
        "redis:\n  pool: 4\ninterval_ms: 10\n",
        "SVC",
        env(&[
            ("SVC__REDIS__URL", "redis://10.0.0.1:6380"),
            ("SVC__INTERVAL_MS", "250"),
            ("OTHER__X", "1"),
        ]),
    )
    .unwrap();
    assert_eq!(c.redis.url, "redis://10.0.0.1:6380");
    assert_eq!(c.redis.pool, 4);
    assert_eq!(c.interval_ms, 250);
}

#[test]
fn every_invalid_field_is_reported_at_once_with_its_path() {
    let yaml = "redis:\n  pool: many\n  passwd: x\ninterval_ms: 90000\ntimeout: 3\n";
    let err = load_from::<Cfg>(yaml, "SVC", env(&[])).unwrap_err();
    let paths: Vec<_> = err.errors.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.contains(&"redis.pool"), "{err}");
    assert!(paths.contains(&"redis.passwd"), "{err}");
    assert!(paths.contains(&"timeout"), "{err}");
    assert!(paths.contains(&"interval_ms"), "{err}");
    assert_eq!(err.errors.len(), 4, "{err}");
    let text = err.to_string();
    assert!(text.contains("unknown field `passwd`"), "{text}");
}

#[test]
fn an_unknown_environment_key_is_rejected_like_a_file_key() {
    let err = load_from::<Cfg>("", "SVC", env(&[("SVC__REDIS__URLL", "redis://x")])).unwrap_err();
    assert_eq!(err.errors[0].path, "redis.urll", "{err}");
}

#[test]
fn malformed_yaml_is_a_clear_error_not_a_panic() {
    let err = load_from::<Cfg>("redis: [unclosed", "SVC", env(&[])).unwrap_err();
    assert!(err.to_string().contains("invalid YAML"), "{err}");
}
