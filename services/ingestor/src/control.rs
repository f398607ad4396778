//! Re-anchor requests from the aggregator, read from the Redis stream `{SYMBOL}:control`
//! (`XADD {BTCUSDT}:control * type snapshot_request epoch <n>`). Optional: without
//! `control.redis_url` the ingestor runs without it. Only entries added after start are read.
//! The URL may be `rediss://` (TLS, `control.redis_ca_file` for a private CA) and the reader
//! authenticates as `control.redis_username` with the password from `control.redis_password_file`
//! or `REDIS_AUTH_TOKEN` (re-read on every reconnect, so a rotated secret is picked up).

use crate::ingest::{SnapshotReason, SnapshotRequest};
use fred::prelude::*;
use fred::types::streams::XReadResponse;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use svc_kit::backoff::Backoff;
use svc_kit::health::{Health, Level};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The control stream key of `symbol` (hash-tagged like every per-symbol key).
pub fn control_key(symbol: &str) -> String {
    format!("{{{symbol}}}:control")
}

/// The symbol of a control key, if it is one.
fn symbol_of(key: &str) -> Option<&str> {
    key.strip_prefix('{')?.strip_suffix("}:control")
}

/// One control entry's fields, as raw bytes: anyone with write access to the key can add an
/// entry, and a non-UTF-8 value must be counted and skipped, not stall the reader.
pub type Fields = HashMap<Vec<u8>, Vec<u8>>;

/// A snapshot request from one control entry's fields, if it asks for one.
pub fn parse_entry(symbol: &Arc<str>, fields: &Fields) -> Option<SnapshotRequest> {
    (fields.get(b"type".as_slice()).map(Vec::as_slice) == Some(b"snapshot_request".as_slice())).then(|| {
        SnapshotRequest {
            symbol: symbol.clone(),
            reason: SnapshotReason::Control,
            min_update_id: None,
        }
    })
}

pub async fn run(
    redis: svc_kit::RedisConfig,
    symbols: Vec<Arc<str>>,
    tx: mpsc::Sender<SnapshotRequest>,
    health: Health,
    metrics: metrics_schema::IngestorMetrics,
    shutdown: CancellationToken,
) {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    let keys: Vec<String> = symbols.iter().map(|s| control_key(s)).collect();
    let mut ids: Vec<String> = vec!["$".into(); keys.len()];
    health.set(
        "control",
        Level::Degraded,
        "disconnected",
        Some("connecting to Redis".into()),
    );
    loop {
        let client = match connect(&redis).await {
            Ok(c) => c,
            Err(e) => {
                health.set("control", Level::Degraded, "disconnected", Some(e.to_string()));
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(backoff.next_delay()) => continue,
                }
            }
        };
        health.set("control", Level::Healthy, "connected", None);
        backoff.reset();
        loop {
            // Raw reply: a block that times out answers nil, which is "no entries", not an error.
            let read = client.xread::<Value, _, _>(Some(100), Some(1000), keys.clone(), ids.clone());
            let reply: Value = tokio::select! {
                _ = shutdown.cancelled() => {
                    let _ = client.quit().await;
                    return;
                }
                r = read => match r {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!(error = %e, "control stream read failed; reconnecting");
                        health.set("control", Level::Degraded, "disconnected", Some(e.to_string()));
                        break;
                    }
                },
            };
            if reply.is_null() {
                continue;
            }
            let resp: XReadResponse<String, String, Vec<u8>, Vec<u8>> = match reply.into_xread_response() {
                Ok(r) => r,
                Err(e) => {
                    // Unreadable as stream entries: count it and move past everything pending,
                    // rather than re-reading the same reply forever.
                    tracing::warn!(error = %e, "unreadable control stream reply; skipping to new entries");
                    metrics.error(
                        metrics_schema::labels::ErrorType::Malformed,
                        metrics_schema::labels::Stage::Redis,
                    );
                    ids.iter_mut().for_each(|id| *id = "$".into());
                    continue;
                }
            };
            for (key, entries) in resp {
                let Some(i) = keys.iter().position(|k| *k == key) else {
                    continue;
                };
                let Some(symbol) = symbols.iter().find(|s| Some(&***s) == symbol_of(&key)) else {
                    continue;
                };
                for (id, fields) in entries {
                    if let Some(req) = parse_entry(symbol, &fields) {
                        let epoch = fields
                            .get(b"epoch".as_slice())
                            .map(|e| String::from_utf8_lossy(e));
                        tracing::info!(%symbol, %id, epoch = epoch.as_deref(), "re-anchor requested");
                        let _ = tx.try_send(req);
                    } else {
                        metrics.error(
                            metrics_schema::labels::ErrorType::Malformed,
                            metrics_schema::labels::Stage::Redis,
                        );
                    }
                    if let Some(slot) = ids.get_mut(i) {
                        *slot = id;
                    }
                }
            }
        }
        let _ = client.quit().await;
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff.next_delay()) => {}
        }
    }
}

/// Why the control reader could not connect (bad settings or a Redis error); never the password.
#[derive(Debug, thiserror::Error)]
enum ConnectError {
    #[error(transparent)]
    Setup(#[from] svc_kit::redis::RedisSetupError),
    #[error("redis: {0}")]
    Redis(#[from] Error),
}

async fn connect(redis: &svc_kit::RedisConfig) -> Result<Client, ConnectError> {
    let (config, _) = svc_kit::redis::fred_config(redis, std::env::var(svc_kit::ENV_REDIS_AUTH_TOKEN).ok())?;
    let client = Builder::from_config(config)
        .with_connection_config(|c| {
            c.connection_timeout = Duration::from_secs(5);
        })
        .build()?;
    client.init().await?;
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_keys_are_hash_tagged_per_symbol() {
        assert_eq!(control_key("BTCUSDT"), "{BTCUSDT}:control");
        assert_eq!(symbol_of("{BTCUSDT}:control"), Some("BTCUSDT"));
        assert_eq!(symbol_of("BTCUSDT:control"), None);
    }

    #[test]
    fn only_snapshot_request_entries_ask_for_a_snapshot() {
        let sym: Arc<str> = Arc::from("BTCUSDT");
        let fields =
            |t: &[u8]| Fields::from([(b"type".to_vec(), t.to_vec()), (b"epoch".to_vec(), b"7".to_vec())]);
        let req = parse_entry(&sym, &fields(b"snapshot_request")).unwrap();
        assert_eq!(req.reason, SnapshotReason::Control);
        assert_eq!(&*req.symbol, "BTCUSDT");
        assert!(parse_entry(&sym, &fields(b"something_else")).is_none());
        assert!(parse_entry(&sym, &fields(b"\xff\xfesnapshot_request")).is_none());
        assert!(parse_entry(&sym, &Fields::new()).is_none());
    }
}
