//! Configuration: a YAML file plus environment overrides, unknown keys rejected, and every invalid
//! field reported at once with its path.
//!
//! Environment variables `PREFIX__SECTION__KEY=value` override `section.key` (keys lower-cased,
//! values parsed as YAML scalars, so `8080` is a number and `true` a boolean).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::fmt;
use std::path::Path;

/// The exit code a binary returns on bad configuration (EX_CONFIG-style `EX_USAGE`).
pub const EXIT_BAD_CONFIG: u8 = 64;

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

/// Every problem found in a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub errors: Vec<FieldError>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration ({} problem(s)):", self.errors.len())?;
        for e in &self.errors {
            writeln!(f, "  - {}: {}", e.path, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Semantic checks after the types parsed; push one [`FieldError`] per problem.
pub trait Validate {
    fn validate(&self, _errors: &mut Vec<FieldError>) {}
}

/// Load `T` from an optional YAML file and the process environment.
pub fn load<T>(file: Option<&Path>, env_prefix: &str) -> Result<T, ConfigError>
where
    T: DeserializeOwned + Serialize + Validate,
{
    let text = match file {
        Some(p) => std::fs::read_to_string(p).map_err(|e| ConfigError {
            errors: vec![FieldError {
                path: p.display().to_string(),
                message: format!("cannot read: {e}"),
            }],
        })?,
        None => String::new(),
    };
    load_from(&text, env_prefix, std::env::vars())
}

/// Load from YAML text and an explicit environment (testable without touching the process env).
pub fn load_from<T>(
    yaml: &str,
    env_prefix: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError>
where
    T: DeserializeOwned + Serialize + Validate,
{
    let mut errors = Vec::new();
    let mut root = if yaml.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        match serde_saphyr::from_str::<Value>(yaml) {
            Ok(Value::Null) => Value::Object(Map::new()),
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => return Err(one("(root)", "the configuration must be a mapping")),
            Err(e) => return Err(one("(file)", &format!("invalid YAML: {e}"))),
        }
    };
    let prefix = format!("{env_prefix}__");
    let mut env: Vec<_> = env.into_iter().filter(|(k, _)| k.starts_with(&prefix)).collect();
    env.sort();
    for (key, raw) in env {
        let path: Vec<String> = key[prefix.len()..]
            .split("__")
            .map(|s| s.to_ascii_lowercase())
            .collect();
        if let Err(msg) = set_path(&mut root, &path, scalar(&raw)) {
            errors.push(FieldError {
                path: format!("{key} (env)"),
                message: msg,
            });
        }
    }
    // Deserialize; on each error record it, drop the offending key (its default applies) and retry,
    // so one run reports every problem rather than the first.
    for _ in 0..64 {
        match serde_path_to_error::deserialize::<_, T>(&root) {
            Ok(cfg) => {
                cfg.validate(&mut errors);
                return if errors.is_empty() {
                    Ok(cfg)
                } else {
                    Err(ConfigError { errors })
                };
            }
            Err(e) => {
                let message = e.inner().to_string();
                let mut segs: Vec<String> = e
                    .path()
                    .iter()
                    .map(|s| s.to_string())
                    .filter(|s| !s.is_empty() && s != "?")
                    .collect();
                if let Some(field) = unknown_field_name(&message)
                    && segs.last() != Some(&field)
                {
                    segs.push(field);
                }
                let shown = if segs.is_empty() {
                    "(root)".to_string()
                } else {
                    segs.join(".")
                };
                errors.push(FieldError { path: shown, message });
                if segs.is_empty() || !remove_path(&mut root, &segs) {
                    return Err(ConfigError { errors });
                }
            }
        }
    }
    Err(ConfigError { errors })
}

fn one(path: &str, message: &str) -> ConfigError {
    ConfigError {
        errors: vec![FieldError {
            path: path.into(),
            message: message.into(),
        }],
    }
}

fn unknown_field_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next().map(str::to_string)
}

/// Parse an environment value as a YAML scalar; anything else stays a string.
fn scalar(raw: &str) -> Value {
    match serde_saphyr::from_str::<Value>(raw) {
        Ok(v @ (Value::Bool(_) | Value::Number(_))) => v,
        _ => Value::String(raw.to_string()),
    }
}

fn set_path(root: &mut Value, path: &[String], v: Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Err("empty key".into());
    };
    let mut cur = root;
    for p in parents {
        let Value::Object(map) = cur else {
            return Err(format!("`{p}` is not a section"));
        };
        cur = map.entry(p.clone()).or_insert_with(|| Value::Object(Map::new()));
    }
    match cur {
        Value::Object(map) => {
            map.insert(last.clone(), v);
            Ok(())
        }
        _ => Err(format!("`{last}` is not inside a section")),
    }
}

fn remove_path(root: &mut Value, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut cur = root;
    for p in parents {
        cur = match cur {
            Value::Object(map) => match map.get_mut(p) {
                Some(v) => v,
                None => return false,
            },
            Value::Array(items) => match p.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match cur {
        Value::Object(map) => map.remove(last).is_some(),
        _ => false,
    }
}

/// The longest duration a configuration value may hold: one year. Anything longer is a typo or
/// an overflow attempt (`1e30` seconds does not fit a `Duration`; `u64::MAX` ms overflows every
/// clock addition), and is reported as a field error instead of silently becoming zero or a panic.
pub const MAX_CONFIG_SECS: u64 = 365 * 86_400;

/// Checks a duration in (fractional) seconds: finite, in `(0, MAX]` (or `[0, MAX]` when
/// `zero_ok`, for "0 disables" fields).
pub fn check_secs(errors: &mut Vec<FieldError>, path: &str, v: f64, zero_ok: bool) {
    let low_ok = if zero_ok { v >= 0.0 } else { v > 0.0 };
    #[allow(clippy::cast_precision_loss)] // one year in seconds is exact in f64
    let max = MAX_CONFIG_SECS as f64;
    if !(v.is_finite() && low_ok && v <= max) {
        let low = if zero_ok { "[0" } else { "(0" };
        errors.push(FieldError {
            path: path.into(),
            message: format!("must be a number of seconds in {low}, {MAX_CONFIG_SECS}], got {v}"),
        });
    }
}

/// Checks a duration in milliseconds: at most one year (and positive unless `zero_ok`).
pub fn check_millis(errors: &mut Vec<FieldError>, path: &str, v: u64, zero_ok: bool) {
    if v > MAX_CONFIG_SECS * 1000 || (!zero_ok && v == 0) {
        let low = if zero_ok { "[0" } else { "[1" };
        errors.push(FieldError {
            path: path.into(),
            message: format!(
                "must be milliseconds in {low}, {}], got {v}",
                MAX_CONFIG_SECS * 1000
            ),
        });
    }
}

/// Seconds as a `Duration`, clamped to `[0, MAX_CONFIG_SECS]` (NaN reads as zero). Validation
/// with [`check_secs`] rejects out-of-range values first; the clamp only guarantees that no
/// unchecked caller can panic or wrap.
pub fn secs_duration(v: f64) -> std::time::Duration {
    let max = std::time::Duration::from_secs(MAX_CONFIG_SECS);
    if v.is_nan() || v <= 0.0 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::try_from_secs_f64(v).map_or(max, |d| d.min(max))
}

#[cfg(test)]
mod duration_tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_too_large_for_the_clock_are_field_errors_not_zero() {
        let mut e = Vec::new();
        check_secs(&mut e, "a", 1e30, false);
        check_secs(&mut e, "b", f64::INFINITY, false);
        check_secs(&mut e, "c", f64::NAN, true);
        check_secs(&mut e, "d", 0.0, false);
        check_secs(&mut e, "e", -1.0, true);
        check_millis(&mut e, "f", u64::MAX, true);
        check_millis(&mut e, "g", 0, false);
        let paths: Vec<_> = e.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["a", "b", "c", "d", "e", "f", "g"]);
        let mut ok = Vec::new();
        check_secs(&mut ok, "x", 0.0, true);
        check_secs(&mut ok, "y", 31_536_000.0, false);
        check_millis(&mut ok, "z", 0, true);
        assert!(ok.is_empty(), "{ok:?}");
        assert_eq!(secs_duration(1e30), Duration::from_secs(MAX_CONFIG_SECS));
        assert_eq!(secs_duration(f64::NAN), Duration::ZERO);
        assert_eq!(secs_duration(1.5), Duration::from_millis(1500));
    }
}
