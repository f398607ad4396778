//! Redis I/O (fred): the atomic flush script, checkpoints, shard leases and snapshot requests.
//! Key layout and semantics: `docs/redis-contract.md`.

use crate::cursor::Checkpoint;
use crate::encode;
use crate::state::Published;
use crate::stored::{parse_checkpoint, parse_repairs, valid_number};
use fred::prelude::*;
use fred::types::scripts::Script;
use market::InstrumentScale;
use metrics_schema::AggregatorMetrics;
use metrics_schema::labels::{KeyType, OpStatus, RedisOperation, StateRepair};
use metrics_schema::services::aggregator::{RedisOpLabels, RepairLabels};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const FLUSH_LUA: &str = r#"
local function num(v)
  if v and #v <= 15 and string.match(v, '^%d+$') then return tonumber(v) end
  return nil
end
local repaired = {}
local epoch = tonumber(ARGV[1])
for _, k in ipairs({KEYS[1], KEYS[3]}) do
  local cur = redis.call('HGET', k, 'epoch')
  if cur then
    local c = num(cur)
    if not c then repaired[#repaired + 1] = 'anchor_epoch'
    elseif c > epoch then return redis.error_reply('EPOCH_REGRESSION ' .. cur) end
  end
end
local n = tonumber(ARGV[2])
local a = 3
for i = 1, n do
  local token = ARGV[a]
  local fence = tonumber(ARGV[a + 1])
  a = a + 2
  if redis.call('GET', KEYS[3 + 2 * i]) ~= token then return redis.error_reply('FENCED lease') end
  local f = redis.call('HGET', KEYS[2 + 2 * i], 'fence')
  if f then
    local fv = num(f)
    if not fv then repaired[#repaired + 1] = 'fence'
    elseif fv > fence then return redis.error_reply('FENCED checkpoint') end
  end
end
local function hset(key)
  local c = tonumber(ARGV[a])
  a = a + 1
  if c > 0 then redis.call('HSET', key, unpack(ARGV, a, a + c - 1)) end
  a = a + c
  return a - c, c
end
local first, count = hset(KEYS[1])
hset(KEYS[2]) hset(KEYS[3])
for i = 1, n do hset(KEYS[2 + 2 * i]) end
local channel = ARGV[a]
if channel and #channel > 0 and count > 0 then
  local items = {}
  for i = first, first + count - 1 do items[#items + 1] = #ARGV[i] .. ':' .. ARGV[i] end
  -- pcall: a refused PUBLISH (an ACL without the channel) must not fail a flush whose writes are
  -- done; inference then reads the hash (its push fallback metric shows it).
  redis.pcall('PUBLISH', channel, table.concat(items))
end
if #repaired > 0 then return 'REPAIRED ' .. table.concat(repaired, ',') end
return 'OK'
"#;

const ACQUIRE_LUA: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local function num(v)
  if v and #v <= 15 and string.match(v, '^%d+$') then return tonumber(v) end
  return nil
end
local prefix = ''
local cur = redis.call('GET', KEYS[2])
if cur and not num(cur) then
  -- garbled fence counter: restart it above the checkpoint's fence (monotonic for fencing)
  redis.call('SET', KEYS[2], num(redis.call('HGET', KEYS[3], 'fence')) or 0)
  prefix = 'REPAIRED '
end
local f = redis.call('INCR', KEYS[2])
local token = ARGV[1] .. ':' .. f
redis.call('SET', KEYS[1], token, 'PX', ARGV[2])
return prefix .. token
"#;

const RENEW_LUA: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"#;

const RELEASE_LUA: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("fenced: another aggregator owns a shard ({0})")]
    Fenced(String),
    #[error("refused: the stored anchor epoch {0} is newer")]
    EpochRegression(u64),
    #[error("redis timed out")]
    Timeout,
    #[error("redis: {0}")]
    Redis(#[from] fred::error::Error),
}

impl StoreError {
    /// A state key holds another Redis type (`WRONGTYPE`): not repairable by the aggregator
    /// without deleting data, so it reports unhealthy (runbook "Aggregator state repaired").
    pub fn wrong_type(&self) -> bool {
        matches!(self, StoreError::Redis(e) if e.details().contains("WRONGTYPE"))
    }

    /// Health detail for a wrong-type key.
    pub fn corrupt_detail(&self) -> String {
        format!("a state key has the wrong Redis type (delete it, see the runbook): {self}")
    }
}

/// One shard checkpoint in a flush.
pub struct ShardWrite<'a> {
    pub shard: &'a str,
    pub token: &'a str,
    pub ckpt: Checkpoint,
}

pub struct Store {
    client: Client,
    symbol: String,
    scale: InstrumentScale,
    timeout: Duration,
    metrics: AggregatorMetrics,
    flush: Script,
    acquire: Script,
    renew: Script,
    release: Script,
    flush_seq: std::sync::atomic::AtomicU64,
}

impl Store {
    /// Builds the client and starts connecting in the background (fred reconnects by itself).
    /// `config` comes from [`svc_kit::redis::fred_config`]: URL (`rediss://` for TLS), ACL user
    /// `aggregator`, password from `redis.password_file` or `REDIS_AUTH_TOKEN`, optional CA file.
    pub fn connect(
        config: Config,
        symbol: &str,
        scale: InstrumentScale,
        timeout: Duration,
        metrics: AggregatorMetrics,
    ) -> Result<Store, StoreError> {
        let client = Builder::from_config(config)
            .with_connection_config(|c| {
                c.connection_timeout = timeout;
                c.internal_command_timeout = timeout;
            })
            .with_performance_config(|p| p.default_command_timeout = timeout)
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2))
            .build()?;
        client.connect();
        Ok(Store {
            client,
            symbol: symbol.to_string(),
            scale,
            timeout,
            metrics,
            flush: Script::from_lua(FLUSH_LUA),
            acquire: Script::from_lua(ACQUIRE_LUA),
            renew: Script::from_lua(RENEW_LUA),
            release: Script::from_lua(RELEASE_LUA),
            flush_seq: std::sync::atomic::AtomicU64::new(0),
        })
    }

    pub fn key(&self, suffix: &str) -> String {
        format!("{{{}}}:{suffix}", self.symbol)
    }

    fn count(&self, op: RedisOperation, key_type: KeyType, ok: bool) {
        let status = if ok { OpStatus::Ok } else { OpStatus::Error };
        self.metrics
            .redis_operations
            .get_or_create(&RedisOpLabels {
                operation: op,
                key_type,
                status,
            })
            .inc();
    }

    async fn timed<T>(
        &self,
        f: impl Future<Output = Result<T, fred::error::Error>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(r) => Ok(r?),
            Err(_) => Err(StoreError::Timeout),
        }
    }

    /// Counts one repair of garbled or inconsistent stored state.
    pub fn repaired(&self, kind: StateRepair) {
        self.metrics
            .state_repairs
            .get_or_create(&RepairLabels { kind })
            .inc();
    }

    /// One atomic script: check leases and epoch, then write features, book, anchor and every
    /// shard checkpoint, and publish the features fields on `{S}:features:push` (the last
    /// argument; payload format in docs/redis-contract.md, "pushed snapshot"). A garbled stored
    /// epoch or checkpoint fence (not a decimal) is overwritten (the leases were checked) and
    /// returned as a repair.
    pub async fn flush(
        &self,
        p: &Published,
        shards: &[ShardWrite<'_>],
        now_us: i64,
    ) -> Result<Vec<StateRepair>, StoreError> {
        let seq = self.flush_seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let mut keys = vec![self.key("features"), self.key("book"), self.key("anchor")];
        let mut args: Vec<Value> = vec![p.epoch.to_string().into(), (shards.len() as i64).into()];
        for s in shards {
            keys.push(self.key(&format!("ckpt:{}", s.shard)));
            keys.push(self.key(&format!("lease:{}", s.shard)));
            args.push(s.token.into());
            args.push(s.ckpt.fence.to_string().into());
        }
        let groups = [
            encode::features_fields(p, &self.scale, now_us, seq),
            encode::book_fields(p, &self.scale),
            encode::anchor_fields(p, now_us),
        ];
        for g in groups
            .into_iter()
            .chain(shards.iter().map(|s| encode::ckpt_fields(&s.ckpt, now_us)))
        {
            args.push((g.len() as i64).into());
            args.extend(g);
        }
        args.push(self.key("features:push").into());
        let started = Instant::now();
        let res: Result<String, StoreError> = self
            .timed(self.flush.evalsha_with_reload(&self.client, keys, args))
            .await;
        self.metrics
            .redis_operation_duration
            .observe(started.elapsed().as_secs_f64());
        self.metrics
            .redis_pipeline_commands
            .observe((3 + shards.len()) as f64);
        let ok = res.is_ok();
        for k in [
            KeyType::Features,
            KeyType::Book,
            KeyType::Anchor,
            KeyType::Checkpoint,
        ] {
            self.count(RedisOperation::StateTransaction, k, ok);
        }
        match res {
            Ok(reply) => Ok(parse_repairs(&reply)),
            Err(StoreError::Redis(e)) if e.details().contains("FENCED") => {
                Err(StoreError::Fenced(e.details().to_string()))
            }
            Err(StoreError::Redis(e)) if e.details().contains("EPOCH_REGRESSION") => {
                let stored = e
                    .details()
                    .rsplit(' ')
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                Err(StoreError::EpochRegression(stored))
            }
            Err(e) => Err(e),
        }
    }

    /// The anchor epoch stored by the last flush (the larger valid one of `{S}:features` and
    /// `{S}:anchor`; 0 when absent or garbled — a garbled one is repaired by the next flush).
    pub async fn stored_epoch(&self) -> Result<u64, StoreError> {
        let mut best = 0;
        for k in ["features", "anchor"] {
            let res: Result<Option<String>, _> = self.timed(self.client.hget(self.key(k), "epoch")).await;
            self.count(RedisOperation::Read, KeyType::Anchor, res.is_ok());
            if let Some(e) = res?.as_deref().and_then(valid_number) {
                best = best.max(e);
            }
        }
        Ok(best)
    }

    /// The shard's checkpoint; garbled fields are dropped (see [`parse_checkpoint`]) and named in
    /// the second value.
    pub async fn load_checkpoint(
        &self,
        shard: &str,
    ) -> Result<(Option<Checkpoint>, Vec<&'static str>), StoreError> {
        let res: Result<HashMap<String, String>, _> = self
            .timed(self.client.hgetall(self.key(&format!("ckpt:{shard}"))))
            .await;
        self.count(RedisOperation::Read, KeyType::Checkpoint, res.is_ok());
        Ok(parse_checkpoint(&res?))
    }

    /// `Some((token, fence))` when this owner now holds the shard's lease. A garbled fence counter
    /// is restarted above the checkpoint's fence (counted as a repair).
    pub async fn acquire(
        &self,
        shard: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<(String, u64)>, StoreError> {
        let keys = vec![
            self.key(&format!("lease:{shard}")),
            self.key(&format!("lease_fence:{shard}")),
            self.key(&format!("ckpt:{shard}")),
        ];
        let args: Vec<Value> = vec![owner.into(), (ttl.as_millis() as i64).into()];
        let res: Result<Option<String>, _> = self
            .timed(self.acquire.evalsha_with_reload(&self.client, keys, args))
            .await;
        self.count(RedisOperation::Lease, KeyType::Lease, res.is_ok());
        Ok(res?.and_then(|t| {
            let t = match t.strip_prefix("REPAIRED ") {
                Some(rest) => {
                    tracing::error!(%shard, "garbled lease fence counter restarted above the checkpoint fence");
                    self.repaired(StateRepair::CorruptFence);
                    rest.to_string()
                }
                None => t,
            };
            let fence = t.rsplit(':').next()?.parse().ok()?;
            Some((t, fence))
        }))
    }

    /// `Ok(false)` when the lease no longer holds `token`.
    pub async fn renew(&self, shard: &str, token: &str, ttl: Duration) -> Result<bool, StoreError> {
        let args: Vec<Value> = vec![token.into(), (ttl.as_millis() as i64).into()];
        let key = self.key(&format!("lease:{shard}"));
        let res: Result<i64, _> = self
            .timed(self.renew.evalsha_with_reload(&self.client, key, args))
            .await;
        self.count(RedisOperation::Lease, KeyType::Lease, res.is_ok());
        Ok(res? == 1)
    }

    pub async fn release(&self, shard: &str, token: &str) -> Result<(), StoreError> {
        let key = self.key(&format!("lease:{shard}"));
        let res: Result<i64, _> = self
            .timed(self.release.evalsha_with_reload(&self.client, key, token))
            .await;
        self.count(RedisOperation::Lease, KeyType::Lease, res.is_ok());
        res.map(|_| ())
    }

    /// `XADD {S}:control MAXLEN ~ 1000 * type snapshot_request epoch <n> reason <r>`.
    pub async fn request_snapshot(&self, epoch: u64, reason: &str) -> Result<(), StoreError> {
        let fields: Vec<(&str, Value)> = vec![
            ("type", "snapshot_request".into()),
            ("epoch", epoch.to_string().into()),
            ("reason", reason.into()),
        ];
        let res: Result<String, _> = self
            .timed(
                self.client
                    .xadd(self.key("control"), false, ("MAXLEN", "~", 1000i64), "*", fields),
            )
            .await;
        self.count(RedisOperation::ControlPublish, KeyType::Control, res.is_ok());
        res.map(|_| ())
    }

    /// Create `{S}:control` empty if it does not exist (`XADD … MAXLEN 0`: the entry is trimmed in
    /// the same command, so no reader ever sees it). The ingestor block-reads this stream all the
    /// time; on a missing key every read counts two keyspace misses, which held Redis's hit rate near
    /// 0.90 on an idle pipeline (`RedisHitRateLow`). Called whenever a shard lease is acquired, so a
    /// Redis restarted empty gets it back.
    pub async fn ensure_control_stream(&self) -> Result<(), StoreError> {
        let key = self.key("control");
        let exists: Result<i64, _> = self.timed(self.client.exists(&key)).await;
        if exists? == 1 {
            return Ok(());
        }
        let fields: Vec<(&str, Value)> = vec![("type", "stream_created".into())];
        let res: Result<String, _> = self
            .timed(self.client.xadd(key, false, ("MAXLEN", "=", 0i64), "*", fields))
            .await;
        self.count(RedisOperation::ControlPublish, KeyType::Control, res.is_ok());
        res.map(|_| ())
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        let r: Result<String, _> = self.timed(self.client.ping(None)).await;
        r.map(|_| ())
    }
}
