//! Turning a [`RedisConfig`] into a fred client configuration: `rediss://` with the system roots
//! or a private CA file, an ACL username, and the password from a file or `REDIS_AUTH_TOKEN`.
//! Errors name files and URLs with the password redacted, never the secret itself.

use crate::{ENV_REDIS_AUTH_TOKEN, RedisConfig, redact_url};
use fred::types::config::{Config, TlsConfig, TlsConnector};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::path::Path;
use std::sync::Arc;

/// Why a Redis client configuration could not be built (the message never carries a password).
#[derive(Debug, thiserror::Error)]
pub enum RedisSetupError {
    #[error("redis url {url}: {reason}")]
    Url { url: String, reason: String },
    #[error("redis password file {path}: {reason}")]
    PasswordFile { path: String, reason: String },
    #[error("redis CA file {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("redis TLS: {0}")]
    Tls(String),
}

/// Where the password came from, for a log line that shows the source but not the secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordSource {
    File,
    Env,
    Url,
    None,
}

impl PasswordSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PasswordSource::File => "password_file",
            PasswordSource::Env => ENV_REDIS_AUTH_TOKEN,
            PasswordSource::Url => "url",
            PasswordSource::None => "none",
        }
    }
}

/// The fred [`Config`] for `cfg`, with `env_password` standing for `REDIS_AUTH_TOKEN` (callers pass
/// `std::env::var(ENV_REDIS_AUTH_TOKEN).ok()`; tests pass their own). Precedence of the password:
/// `password_file`, then a non-empty `env_password`, then a password in the URL.
pub fn fred_config(
    cfg: &RedisConfig,
    env_password: Option<String>,
) -> Result<(Config, PasswordSource), RedisSetupError> {
    // fred's own `rediss://` handling builds a rustls config with the process-default crypto
    // provider, which panics in a process that links both ring and aws-lc-rs (the ingestor).
    // Parse the URL as `redis://` and attach the TLS settings built here instead.
    let tls = cfg.url.starts_with("rediss://");
    let parse_url = match cfg.url.strip_prefix("rediss://") {
        Some(rest) => format!("redis://{rest}"),
        None => cfg.url.clone(),
    };
    let mut config = Config::from_url(&parse_url).map_err(|e| RedisSetupError::Url {
        url: redact_url(&cfg.url),
        // fred's message may quote the URL; keep only its kind.
        reason: format!("{:?}", e.kind()),
    })?;
    let mut source = if config.password.is_some() {
        PasswordSource::Url
    } else {
        PasswordSource::None
    };
    if let Some(path) = &cfg.password_file {
        config.password = Some(read_password(path)?);
        source = PasswordSource::File;
    } else if let Some(pw) = env_password.filter(|p| !p.is_empty()) {
        config.password = Some(pw);
        source = PasswordSource::Env;
    }
    if let Some(user) = &cfg.username {
        config.username = Some(user.clone());
    }
    if tls {
        config.tls = Some(tls_config(cfg.ca_file.as_deref())?);
    }
    Ok((config, source))
}

fn read_password(path: &Path) -> Result<String, RedisSetupError> {
    let err = |reason: String| RedisSetupError::PasswordFile {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let pw = text.trim_end_matches(['\n', '\r']);
    if pw.is_empty() {
        return Err(err("is empty".into()));
    }
    if pw.contains(['\n', '\r']) {
        return Err(err("holds more than one line".into()));
    }
    Ok(pw.to_string())
}

/// rustls with the ring provider fred is built with (explicit, so a process that also links
/// aws-lc-rs, like the ingestor, never depends on a process-wide default provider).
fn tls_config(ca_file: Option<&Path>) -> Result<TlsConfig, RedisSetupError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let err = |reason: String| RedisSetupError::CaFile {
                path: path.display().to_string(),
                reason,
            };
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| err(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| err(e.to_string()))?;
            if certs.is_empty() {
                return Err(err("holds no PEM certificate".into()));
            }
            for c in certs {
                roots.add(c).map_err(|e| err(e.to_string()))?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(native.certs);
            if added == 0 {
                return Err(RedisSetupError::Tls(
                    "no system root certificates found; set ca_file".into(),
                ));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| RedisSetupError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConfig::from(TlsConnector::from(client)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn cfg(url: &str) -> RedisConfig {
        RedisConfig::from_url(url)
    }

    #[test]
    fn password_file_wins_over_env_and_url() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "from-the-file-0123456789").unwrap();
        let mut c = cfg("redis://u:from-url@127.0.0.1:6379");
        c.password_file = Some(f.path().into());
        c.username = Some("inference".into());
        let (fc, src) = fred_config(&c, Some("from-env".into())).unwrap();
        assert_eq!(src, PasswordSource::File);
        assert_eq!(fc.password.as_deref(), Some("from-the-file-0123456789"));
        assert_eq!(fc.username.as_deref(), Some("inference"));
        c.password_file = None;
        let (fc, src) = fred_config(&c, Some("from-env".into())).unwrap();
        assert_eq!(
            (src, fc.password.as_deref()),
            (PasswordSource::Env, Some("from-env"))
        );
        let (fc, src) = fred_config(&c, Some(String::new())).unwrap();
        assert_eq!(
            (src, fc.password.as_deref()),
            (PasswordSource::Url, Some("from-url"))
        );
        let (fc, src) = fred_config(&cfg("redis://127.0.0.1:1"), None).unwrap();
        assert_eq!((src, fc.password), (PasswordSource::None, None));
    }

    #[test]
    fn bad_password_and_ca_files_are_clear_errors() {
        let mut c = cfg("rediss://127.0.0.1:6379");
        c.password_file = Some("/nonexistent/pw".into());
        let e = fred_config(&c, None).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/pw"), "{e}");
        let empty = tempfile::NamedTempFile::new().unwrap();
        c.password_file = Some(empty.path().into());
        assert!(
            fred_config(&c, None)
                .unwrap_err()
                .to_string()
                .contains("is empty")
        );
        c.password_file = None;
        c.ca_file = Some(empty.path().into());
        let e = fred_config(&c, None).unwrap_err().to_string();
        assert!(e.contains("no PEM certificate"), "{e}");
    }

    #[test]
    fn url_errors_do_not_carry_the_password() {
        let e = fred_config(&cfg("redis://u:hunter2-secret@/nohost"), None)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2-secret"), "{e}");
        assert!(e.contains("u:***@"), "{e}");
    }
}
