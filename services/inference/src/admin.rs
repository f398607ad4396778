//! Authentication of the admin endpoints (`POST /v1/admin/*`), decided without I/O:
//!
//! * no token configured (neither `INFERENCE_ADMIN_TOKEN` nor `admin.token_file`): disabled, 403;
//! * no `Authorization: Bearer <token>` or a different token: 401 (`WWW-Authenticate: Bearer`);
//!   tokens are compared in constant time;
//! * a body that is not `Content-Type: application/json`: 415 (a cross-site form or `text/plain`
//!   POST cannot switch the model even with a leaked cookie-less token).
//!
//! The token is a secret: never logged, never part of the printed configuration.

use crate::config::{AdminConfig, ENV_ADMIN_TOKEN};
use hyper::StatusCode;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use std::fmt;

/// The configured admin bearer token (`None`: admin endpoints disabled).
#[derive(Clone, Default)]
pub struct AdminToken(Option<Vec<u8>>);

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "AdminToken(<set>)"
        } else {
            "AdminToken(disabled)"
        })
    }
}

/// Why a token could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("admin.token_file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("admin.token_file {0} holds no token (first line is empty)")]
    Empty(String),
}

impl AdminToken {
    /// A token from its text (surrounding whitespace trimmed; empty = disabled).
    pub fn from_text(text: &str) -> Self {
        let t = text.trim();
        AdminToken((!t.is_empty()).then(|| t.as_bytes().to_vec()))
    }

    /// `INFERENCE_ADMIN_TOKEN` (`env_value`) when set and non-empty, else the first line of
    /// `admin.token_file` when configured, else disabled.
    pub fn load(cfg: &AdminConfig, env_value: Option<&str>) -> Result<Self, TokenError> {
        if let Some(t) = env_value.map(Self::from_text).filter(|t| t.is_enabled()) {
            return Ok(t);
        }
        if cfg.token_file.as_os_str().is_empty() {
            return Ok(AdminToken(None));
        }
        let path = cfg.token_file.display().to_string();
        let text = std::fs::read_to_string(&cfg.token_file).map_err(|source| TokenError::Read {
            path: path.clone(),
            source,
        })?;
        let t = Self::from_text(text.lines().next().unwrap_or(""));
        if t.is_enabled() {
            Ok(t)
        } else {
            Err(TokenError::Empty(path))
        }
    }

    /// The token from the environment and configuration (see [`AdminToken::load`]).
    pub fn from_env(cfg: &AdminConfig) -> Result<Self, TokenError> {
        Self::load(cfg, std::env::var(ENV_ADMIN_TOKEN).ok().as_deref())
    }

    pub fn is_enabled(&self) -> bool {
        self.0.is_some()
    }

    /// Who acted, for the lifecycle audit log: `admin-token:<first 8 hex of FNV-1a(token)>` (tells
    /// tokens apart across a rotation without revealing one), `none` when disabled.
    pub fn identity(&self) -> String {
        match &self.0 {
            Some(t) => format!("admin-token:{:08x}", crate::models::fnv1a(t) >> 32),
            None => "none".into(),
        }
    }
}

/// Equality that takes the same time wherever the inputs differ (length differences included:
/// every byte of the presented token is examined).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for (i, x) in a.iter().enumerate() {
        let y = b.get(i).copied().unwrap_or(!x);
        diff |= x ^ y;
    }
    diff == 0
}

/// Why an admin request is refused: the status and a message for the JSON error body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: &'static str,
}

/// Checks an admin request's headers; `Ok` when it may proceed.
pub fn authorize(token: &AdminToken, headers: &HeaderMap) -> Result<(), Refusal> {
    let Some(expected) = token.0.as_deref() else {
        return Err(Refusal {
            status: StatusCode::FORBIDDEN,
            message: "admin endpoints are disabled: no admin token configured (INFERENCE_ADMIN_TOKEN or admin.token_file)",
        });
    };
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if !presented.is_some_and(|p| constant_time_eq(p.as_bytes(), expected)) {
        return Err(Refusal {
            status: StatusCode::UNAUTHORIZED,
            message: "missing or invalid bearer token",
        });
    }
    let json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(Refusal {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: "Content-Type must be application/json",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(auth: Option<&str>, ct: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(a) = auth {
            h.insert(AUTHORIZATION, HeaderValue::from_str(a).unwrap());
        }
        if let Some(c) = ct {
            h.insert(CONTENT_TYPE, HeaderValue::from_str(c).unwrap());
        }
        h
    }

    #[test]
    fn refusals_are_403_without_a_token_401_for_bad_credentials_415_for_non_json() {
        let on = AdminToken::from_text("s3cret");
        let status = |t: &AdminToken, a, c| authorize(t, &headers(a, c)).map_err(|r| r.status.as_u16());
        let json = Some("application/json");
        assert_eq!(
            status(&AdminToken::default(), Some("Bearer s3cret"), json),
            Err(403)
        );
        assert_eq!(status(&on, None, json), Err(401));
        assert_eq!(status(&on, Some("Bearer s3cre"), json), Err(401));
        assert_eq!(status(&on, Some("Bearer s3cret2"), json), Err(401));
        assert_eq!(status(&on, Some("Basic s3cret"), json), Err(401));
        assert_eq!(status(&on, Some("Bearer s3cret"), Some("text/plain")), Err(415));
        assert_eq!(status(&on, Some("Bearer s3cret"), None), Err(415));
        assert_eq!(status(&on, Some("Bearer s3cret"), json), Ok(()));
        assert_eq!(
            status(
                &on,
                Some("Bearer s3cret"),
                Some("Application/JSON; charset=utf-8")
            ),
            Ok(())
        );
    }

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn token_comes_from_the_environment_first_then_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "from-file\n").unwrap();
        let cfg = AdminConfig { token_file: file };
        let t = AdminToken::load(&cfg, Some("from-env")).unwrap();
        assert_eq!(t.0.as_deref(), Some(&b"from-env"[..]));
        let t = AdminToken::load(&cfg, Some("  ")).unwrap();
        assert_eq!(t.0.as_deref(), Some(&b"from-file"[..]));
        assert!(
            !AdminToken::load(&AdminConfig::default(), None)
                .unwrap()
                .is_enabled()
        );
        std::fs::write(&cfg.token_file, "\n").unwrap();
        assert!(matches!(AdminToken::load(&cfg, None), Err(TokenError::Empty(_))));
        let missing = AdminConfig {
            token_file: dir.path().join("nope"),
        };
        assert!(matches!(
            AdminToken::load(&missing, None),
            Err(TokenError::Read { .. })
        ));
        assert_eq!(format!("{t:?}"), "AdminToken(<set>)");
        let id = t.identity();
        assert!(
            id.starts_with("admin-token:") && id.len() == 20 && !id.contains("from-file"),
            "{id}"
        );
        assert_ne!(id, AdminToken::from_text("other").identity());
    }
}
