//! Redis I/O of the hot path, two round trips per tick:
//!
//! * `HGETALL {S}:features` (the one read of docs/redis-contract.md), sent as a raw command so the
//!   reply's frame is decoded straight into [`RawFeatures`] slots (no maps, no copies);
//! * one `EVALSHA` of [`PUBLISH_LUA`]: `XADD {S}:predictions MAXLEN ~ N * tick_us <slot> json <p>`
//!   and `SET {S}:predictions:latest <p>`, which Redis runs atomically (like MULTI/EXEC, but one
//!   command: fred writes and flushes each command of a MULTI/EXEC separately, four small writes).
//!   The script is idempotent per slot: it publishes only a slot newer than
//!   `{S}:predictions:last_slot`, so two inference processes (a rolling deploy runs old and new
//!   tasks side by side) publish each 2 s slot once; the later writer gets
//!   [`PublishOutcome::Duplicate`] and counts it.
//!
//! TCP_NODELAY is set: every write is a complete request the server should see at once.

use crate::contract::RawFeatures;
use bytes::Bytes;
use fred::error::ErrorKind;
use fred::prelude::*;
use fred::types::scripts::Script;
use fred::types::{ClusterHash, CustomCommand, Resp3Frame};
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

/// The atomic, per-slot idempotent publish: KEYS = stream, latest, last published slot; ARGV =
/// maxlen, tick slot (µs), prediction JSON. Returns 1 when published, 0 when a slot at least this
/// new was already published (by another process, or this one before a backward clock step). A
/// garbled `last_slot` value is overwritten (fail open: a prediction per slot still goes out).
pub const PUBLISH_LUA: &str = "local last = tonumber(redis.call('GET', KEYS[3]) or '')
local slot = tonumber(ARGV[2])
if last and slot and slot <= last then return 0 end
redis.call('SET', KEYS[3], ARGV[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'tick_us', ARGV[2], 'json', ARGV[3])
redis.call('SET', KEYS[2], ARGV[3])
return 1";

/// What a publish did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublishOutcome {
    /// Appended to the stream and set as latest.
    Written,
    /// Another writer already published this slot (or a newer one): nothing written.
    Duplicate,
}

/// Why a round trip failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("redis is not connected")]
    NotConnected,
    #[error("redis round trip timed out after {0:?}")]
    Timeout(Duration),
    #[error("redis: {0}")]
    Redis(#[from] fred::error::Error),
}

/// What the tick loop needs from storage (Redis in production; adaptable if the contract moves).
pub trait HotPathStore: Send + Sync + 'static {
    /// The features hash (`None` when the key does not exist).
    fn read_features(&self) -> impl Future<Output = Result<Option<RawFeatures>, StoreError>> + Send;
    /// Append the prediction to the bounded stream and set the latest key, atomically, unless the
    /// slot was already published.
    fn publish(
        &self,
        tick_time_us: i64,
        json: Bytes,
    ) -> impl Future<Output = Result<PublishOutcome, StoreError>> + Send;
    fn is_connected(&self) -> bool;
}

/// Key names of one symbol.
#[derive(Clone, Debug)]
pub struct Keys {
    pub features: String,
    pub stream: String,
    pub latest: String,
    /// The newest slot published (per-slot idempotence of [`PUBLISH_LUA`]).
    pub last_slot: String,
}

impl Keys {
    pub fn new(symbol: &str) -> Self {
        Keys {
            features: crate::contract::features_key(symbol),
            stream: format!("{{{symbol}}}:predictions"),
            latest: format!("{{{symbol}}}:predictions:latest"),
            last_slot: format!("{{{symbol}}}:predictions:last_slot"),
        }
    }
}

pub struct RedisStore {
    client: Client,
    keys: Keys,
    timeout: Duration,
    /// Per-tick arguments built once (cloning a `Value` only bumps a refcount).
    hgetall: CustomCommand,
    features_key: Value,
    publish: Script,
    publish_keys: Vec<Key>,
    maxlen: Value,
}

impl RedisStore {
    /// Builds the client and starts connecting in the background on the current tokio runtime
    /// (reconnecting forever with jittered exponential backoff); never fails because Redis is down.
    pub fn connect(
        url: &str,
        auth_token: Option<String>,
        symbol: &str,
        maxlen: u64,
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        let store = Self::new(url, auth_token, symbol, maxlen, timeout)?;
        store.start();
        Ok(store)
    }

    /// Starts connecting; the client's tasks live on the runtime this is called from.
    pub fn start(&self) {
        let _handle = self.client.connect();
    }

    /// Builds the client without connecting (fails only on a malformed URL).
    pub fn new(
        url: &str,
        auth_token: Option<String>,
        symbol: &str,
        maxlen: u64,
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        let mut config = Config::from_url(url)?;
        if let Some(token) = auth_token.filter(|t| !t.is_empty()) {
            config.password = Some(token);
        }
        Self::with_config(config, symbol, maxlen, timeout)
    }

    /// Builds the client from a prepared fred config without connecting: the service passes
    /// [`svc_kit::redis::fred_config`] (`rediss://`, ACL user `inference`, password file or
    /// `REDIS_AUTH_TOKEN`, optional CA file).
    pub fn with_config(
        mut config: Config,
        symbol: &str,
        maxlen: u64,
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        config.fail_fast = false;
        let client = Builder::from_config(config)
            .with_connection_config(|c| {
                c.connection_timeout = Duration::from_secs(2);
                c.internal_command_timeout = Duration::from_secs(2);
                c.max_command_attempts = 1;
                c.tcp.nodelay = Some(true);
            })
            .with_performance_config(|p| {
                p.default_command_timeout = timeout;
            })
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2))
            .build()?;
        let keys = Keys::new(symbol);
        Ok(RedisStore {
            client,
            hgetall: CustomCommand::new_static("HGETALL", ClusterHash::FirstKey, false),
            features_key: Value::from(Bytes::from(keys.features.clone())),
            publish: Script::from_lua(PUBLISH_LUA),
            publish_keys: vec![
                Key::from(keys.stream.as_str()),
                Key::from(keys.latest.as_str()),
                Key::from(keys.last_slot.as_str()),
            ],
            maxlen: Value::from(Bytes::from(maxlen.to_string())),
            keys,
            timeout,
        })
    }

    /// Waits (bounded) for the first connection; used by tests and the bench.
    pub async fn wait_connected(&self, limit: Duration) -> bool {
        tokio::time::timeout(limit, self.client.wait_for_connect())
            .await
            .is_ok_and(|r| r.is_ok())
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn bounded<T>(
        &self,
        f: impl Future<Output = Result<T, fred::error::Error>>,
    ) -> Result<T, StoreError> {
        if !self.client.is_connected() {
            return Err(StoreError::NotConnected);
        }
        match tokio::time::timeout(self.timeout, f).await {
            Ok(r) => r.map_err(StoreError::Redis),
            Err(_) => Err(StoreError::Timeout(self.timeout)),
        }
    }

    /// The newest `count` predictions of the stream, newest first (start-up history).
    pub async fn recent(&self, count: u64) -> Result<Vec<Bytes>, StoreError> {
        let entries: Vec<(String, HashMap<String, Bytes>)> = self
            .bounded(self.client.xrevrange(&self.keys.stream, "+", "-", Some(count)))
            .await?;
        Ok(entries
            .into_iter()
            .filter_map(|(_, mut f)| f.remove("json"))
            .collect())
    }

    pub async fn quit(&self) {
        let _ = tokio::time::timeout(Duration::from_millis(500), self.client.quit()).await;
    }
}

fn reply_error(message: &str) -> StoreError {
    StoreError::Redis(fred::error::Error::new(ErrorKind::Unknown, message.to_string()))
}

/// A bulk or simple string of the reply (the value shares the reply's buffer).
fn frame_bytes(frame: Resp3Frame) -> Option<Bytes> {
    match frame {
        Resp3Frame::BlobString { data, .. }
        | Resp3Frame::SimpleString { data, .. }
        | Resp3Frame::VerbatimString { data, .. } => Some(data),
        _ => None,
    }
}

/// The `HGETALL` reply (RESP2 flat array of field/value pairs, or a RESP3 map) into field slots;
/// `None` for an empty reply (the key does not exist).
pub fn features_from_frame(frame: Resp3Frame) -> Result<Option<RawFeatures>, StoreError> {
    let mut raw = RawFeatures::default();
    let mut field = |k: Resp3Frame, v: Resp3Frame| match (frame_bytes(k), frame_bytes(v)) {
        (Some(k), Some(v)) => {
            raw.insert(&k, v);
            Ok(())
        }
        _ => Err(reply_error("HGETALL reply holds a non-string field or value")),
    };
    match frame {
        Resp3Frame::Array { data, .. } => {
            if data.len() % 2 != 0 {
                return Err(reply_error("HGETALL reply has an odd number of elements"));
            }
            let mut it = data.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                field(k, v)?;
            }
        }
        Resp3Frame::Map { data, .. } => {
            for (k, v) in data {
                field(k, v)?;
            }
        }
        Resp3Frame::Null => {}
        Resp3Frame::SimpleError { data, .. } => return Err(reply_error(&data)),
        Resp3Frame::BlobError { data, .. } => return Err(reply_error(&String::from_utf8_lossy(&data))),
        _ => return Err(reply_error("unexpected HGETALL reply type")),
    }
    Ok((!raw.is_empty()).then_some(raw))
}

impl HotPathStore for RedisStore {
    async fn read_features(&self) -> Result<Option<RawFeatures>, StoreError> {
        let frame = self
            .bounded(
                self.client
                    .custom_raw(self.hgetall.clone(), vec![self.features_key.clone()]),
            )
            .await?;
        features_from_frame(frame)
    }

    async fn publish(&self, tick_time_us: i64, json: Bytes) -> Result<PublishOutcome, StoreError> {
        let args = vec![
            self.maxlen.clone(),
            Value::from(Bytes::from(tick_time_us.to_string())),
            Value::from(json),
        ];
        let written: i64 = self
            .bounded(
                self.publish
                    .evalsha_with_reload(&self.client, self.publish_keys.clone(), args),
            )
            .await?;
        Ok(if written == 1 {
            PublishOutcome::Written
        } else {
            PublishOutcome::Duplicate
        })
    }

    fn is_connected(&self) -> bool {
        self.client.is_connected()
    }
}

impl<T: HotPathStore> HotPathStore for std::sync::Arc<T> {
    fn read_features(&self) -> impl Future<Output = Result<Option<RawFeatures>, StoreError>> + Send {
        (**self).read_features()
    }

    fn publish(
        &self,
        tick_time_us: i64,
        json: Bytes,
    ) -> impl Future<Output = Result<PublishOutcome, StoreError>> + Send {
        (**self).publish(tick_time_us, json)
    }

    fn is_connected(&self) -> bool {
        (**self).is_connected()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{decode, encode, synced_snapshot};

    fn blob(b: &[u8]) -> Resp3Frame {
        Resp3Frame::BlobString {
            data: Bytes::copy_from_slice(b),
            attributes: None,
        }
    }

    #[test]
    fn flat_hgetall_reply_decodes_like_the_hash_that_was_written() {
        let snap = synced_snapshot(61_602.015, 1_700_000_000_000_000);
        let data = encode(&snap)
            .into_iter()
            .flat_map(|(k, v)| [blob(k.as_bytes()), blob(&v)])
            .collect();
        let raw = features_from_frame(Resp3Frame::Array {
            data,
            attributes: None,
        })
        .unwrap()
        .unwrap();
        assert_eq!(decode(&raw), Ok(snap));
    }

    #[test]
    fn empty_reply_is_a_missing_key_and_error_replies_are_errors() {
        let empty = Resp3Frame::Array {
            data: vec![],
            attributes: None,
        };
        assert!(features_from_frame(empty).unwrap().is_none());
        assert!(features_from_frame(Resp3Frame::Null).unwrap().is_none());
        let wrongtype = Resp3Frame::SimpleError {
            data: "WRONGTYPE Operation against a key holding the wrong kind of value".into(),
            attributes: None,
        };
        assert!(matches!(
            features_from_frame(wrongtype),
            Err(StoreError::Redis(_))
        ));
        let odd = Resp3Frame::Array {
            data: vec![blob(b"fmt")],
            attributes: None,
        };
        assert!(features_from_frame(odd).is_err());
    }
}
