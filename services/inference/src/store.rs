//! Redis I/O of the hot path, two round trips per tick: `HGETALL {S}:features` (the one read of
//! docs/redis-contract.md), and one MULTI/EXEC carrying `XADD {S}:predictions MAXLEN ~ N` and
//! `SET {S}:predictions:latest` (fred sends the whole transaction in one write).

use bytes::Bytes;
use fred::prelude::*;
use fred::types::streams::XCap;
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

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
    fn read_features(
        &self,
    ) -> impl Future<Output = Result<Option<HashMap<String, Bytes>>, StoreError>> + Send;
    /// Append the prediction to the bounded stream and set the latest key, atomically.
    fn publish(&self, tick_time_us: i64, json: Bytes) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn is_connected(&self) -> bool;
}

/// Key names of one symbol.
#[derive(Clone, Debug)]
pub struct Keys {
    pub features: String,
    pub stream: String,
    pub latest: String,
}

impl Keys {
    pub fn new(symbol: &str) -> Self {
        Keys {
            features: crate::contract::features_key(symbol),
            stream: format!("{{{symbol}}}:predictions"),
            latest: format!("{{{symbol}}}:predictions:latest"),
        }
    }
}

pub struct RedisStore {
    client: Client,
    keys: Keys,
    maxlen: i64,
    timeout: Duration,
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
        config.fail_fast = false;
        let client = Builder::from_config(config)
            .with_connection_config(|c| {
                c.connection_timeout = Duration::from_secs(2);
                c.internal_command_timeout = Duration::from_secs(2);
                c.max_command_attempts = 1;
            })
            .with_performance_config(|p| {
                p.default_command_timeout = timeout;
            })
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2))
            .build()?;
        Ok(RedisStore {
            client,
            keys: Keys::new(symbol),
            maxlen: i64::try_from(maxlen).unwrap_or(i64::MAX),
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

impl HotPathStore for RedisStore {
    async fn read_features(&self) -> Result<Option<HashMap<String, Bytes>>, StoreError> {
        let map: HashMap<String, Bytes> = self.bounded(self.client.hgetall(&self.keys.features)).await?;
        Ok((!map.is_empty()).then_some(map))
    }

    async fn publish(&self, tick_time_us: i64, json: Bytes) -> Result<(), StoreError> {
        let trx = self.client.multi();
        let cap = XCap::try_from(("MAXLEN", "~", self.maxlen))?;
        let fields = vec![
            ("tick_us", Bytes::from(tick_time_us.to_string())),
            ("json", json.clone()),
        ];
        let _: () = trx.xadd(&self.keys.stream, false, cap, "*", fields).await?;
        let _: () = trx.set(&self.keys.latest, json, None, None, false).await?;
        let _: Value = self.bounded(trx.exec(true)).await?;
        Ok(())
    }

    fn is_connected(&self) -> bool {
        self.client.is_connected()
    }
}

impl<T: HotPathStore> HotPathStore for std::sync::Arc<T> {
    fn read_features(
        &self,
    ) -> impl Future<Output = Result<Option<HashMap<String, Bytes>>, StoreError>> + Send {
        (**self).read_features()
    }

    fn publish(&self, tick_time_us: i64, json: Bytes) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).publish(tick_time_us, json)
    }

    fn is_connected(&self) -> bool {
        (**self).is_connected()
    }
}
