//! The processing loop: Kinesis batches → records → market state; atomic flushes to Redis with
//! backoff; snapshot requests; metrics and health. One task owns the state (no locks).

use crate::config::Config;
use crate::cursor::{Phase, ShardCursor};
use crate::gate::LeaseGate;
use crate::state::{MarketState, Note};
use crate::store::{ShardWrite, StoreError};
use kinesis_io::consumer::ShardBatch;
use market::{InstrumentScale, SyncConfig, SyncState};
use metrics_schema::AggregatorMetrics;
use metrics_schema::labels::{
    ErrorType, LabelValue, ReanchorStatus, RecordStatus, Stage, StateRepair, StreamRole,
};
use metrics_schema::services::aggregator::{ReanchorLabels, RecordLabels};
use pipeline_events::{DecodeError, EventView, RecordReader};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use svc_kit::backoff::Backoff;
use svc_kit::health::{Health, Level};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub struct Pipeline {
    cfg: Config,
    state: MarketState,
    state_started: bool,
    cursors: BTreeMap<Arc<str>, ShardCursor>,
    gate: Arc<LeaseGate>,
    metrics: AggregatorMetrics,
    health: Health,
    unflushed: usize,
    dirty: bool,
    anchor_dirty: bool,
    last_flush: Instant,
    last_event: Option<Instant>,
    backoff: Backoff,
    retry_at: Option<Instant>,
    redis_ok: Option<bool>,
    last_redis_check: Instant,
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

impl Pipeline {
    pub fn new(cfg: Config, gate: Arc<LeaseGate>, metrics: AggregatorMetrics, health: Health) -> Self {
        let sync = SyncConfig {
            buffer_capacity: cfg.reanchor.buffer_capacity,
            max_failed_tries: cfg.reanchor.max_failed_tries,
        };
        let state = MarketState::new(
            InstrumentScale::BTCUSDT_SPOT,
            sync,
            cfg.flush.book_depth,
            Instant::now(),
        );
        let backoff = Backoff::new(
            Duration::from_millis(cfg.flush.retry_base_ms),
            Duration::from_millis(cfg.flush.retry_max_ms),
        );
        Pipeline {
            cfg,
            state,
            state_started: false,
            cursors: BTreeMap::new(),
            gate,
            metrics,
            health,
            unflushed: 0,
            dirty: false,
            anchor_dirty: false,
            last_flush: Instant::now(),
            last_event: None,
            backoff,
            retry_at: None,
            redis_ok: None,
            last_redis_check: Instant::now(),
        }
    }

    pub async fn run(mut self, mut rx: mpsc::Receiver<ShardBatch>, shutdown: CancellationToken) {
        let interval = Duration::from_millis(self.cfg.flush.interval_ms);
        let mut tick = tokio::time::interval(interval.min(Duration::from_millis(50)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let paused = self.unflushed >= self.cfg.flush.max_unflushed_records;
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                b = rx.recv(), if !paused => match b {
                    Some(b) => self.on_batch(b),
                    None => break,
                },
                _ = tick.tick() => self.on_tick().await,
            }
            if self.flush_due(rx.is_empty(), interval) {
                self.flush().await;
            }
        }
        if self.replaying() {
            // A half-rebuilt state must never reach Redis: the stored state stays the last
            // complete one and the next owner replays again.
            tracing::warn!("shutdown during the replay after a restart: nothing flushed");
        } else if self.dirty || self.anchor_dirty {
            self.retry_at = None;
            self.flush().await;
        }
        self.gate.release_all().await;
    }

    fn replaying(&self) -> bool {
        self.cursors.values().any(ShardCursor::replaying)
    }

    fn flush_due(&self, caught_up: bool, interval: Duration) -> bool {
        (self.dirty || self.anchor_dirty)
            && !self.replaying()
            && self.retry_at.is_none_or(|t| Instant::now() >= t)
            && (self.anchor_dirty || caught_up || self.last_flush.elapsed() >= interval)
    }

    fn on_batch(&mut self, b: ShardBatch) {
        if !self.cursors.contains_key(&b.shard_id) {
            let Some(c) = self.gate.claim_of(&b.shard_id) else {
                tracing::warn!(shard = %b.shard_id, "batch from a shard this process does not hold; dropped");
                return;
            };
            let window = self.cfg.reanchor.replay_window_secs.saturating_mul(1_000_000);
            let cursor = ShardCursor::new(c.token, c.fence, c.ckpt, window).with_floor(c.stored_epoch);
            self.cursors.insert(b.shard_id.clone(), cursor);
        }
        for r in &b.records {
            self.on_record(&b.shard_id, &r.sequence_number, &r.data);
        }
        if b.shard_ended {
            self.on_shard_ended(&b.shard_id);
        }
        if let Some(ms) = b.millis_behind_latest {
            self.metrics.kinesis_lag.set(ms as f64 / 1000.0);
        }
    }

    fn on_record(&mut self, shard: &Arc<str>, seq: &str, data: &[u8]) {
        let now = Instant::now();
        let Some(cursor) = self.cursors.get_mut(shard) else {
            return;
        };
        if let Some(offset) = cursor.first_record(seq, self.state_started) {
            self.state.set_epoch_offset(offset);
        }
        self.state_started = true;
        let phase = cursor.phase(seq);
        let reader = match RecordReader::new(data) {
            Ok(r) => r,
            Err(e) => {
                let unknown = matches!(
                    e,
                    DecodeError::WrongSchemaId { .. } | DecodeError::UnsupportedVersion { .. }
                );
                if phase == Phase::Live {
                    if unknown {
                        tracing::error!(%shard, seq, error = %e, "record with an unknown schema skipped; deploy a newer aggregator");
                        count(&self.metrics, RecordStatus::UnknownSchema);
                        self.metrics.error(ErrorType::UnknownSchema, Stage::Decode);
                    } else {
                        tracing::warn!(%shard, seq, error = %e, "poison record skipped");
                        count(&self.metrics, RecordStatus::Poison);
                        self.metrics.error(error_type(&e), Stage::Decode);
                    }
                    self.dirty = true;
                    self.unflushed += 1;
                }
                cursor.applied(phase, seq, self.state.event_time_us());
                return;
            }
        };
        if !cursor.admit(phase, reader.producer_id(), reader.batch_sequence()) {
            if phase == Phase::Live {
                count(&self.metrics, RecordStatus::Duplicate);
                self.dirty = true;
                self.unflushed += 1;
            }
            cursor.applied(phase, seq, self.state.event_time_us());
            return;
        }
        let symbol = self.cfg.symbol.as_str();
        for (i, ev) in reader.events().enumerate() {
            let index = i as u32;
            match ev {
                Ok(view) if view.symbol() == symbol => {
                    let feed = cursor.feed_book(seq, index, matches!(view, EventView::DepthDiff(_)));
                    self.state.apply(&view, feed, now);
                }
                Ok(_) => {
                    if phase == Phase::Live {
                        self.metrics.error(ErrorType::Rejected, Stage::Decode);
                    }
                }
                Err(e) => {
                    if phase == Phase::Live {
                        self.metrics.error(error_type(&e), Stage::Decode);
                    }
                }
            }
            for note in self.state.drain_notes() {
                if let Note::GapDetected { epoch, .. } = note {
                    cursor.set_anchor(seq, index, epoch);
                }
                note_metrics(&self.metrics, &note, phase);
            }
        }
        if self.state.take_anchor_changed() {
            self.anchor_dirty = true;
        }
        let was_replaying = cursor.replaying();
        cursor.applied(phase, seq, self.state.event_time_us());
        if was_replaying && !cursor.replaying() {
            // Caught up with the checkpoint: write the rebuilt state under this owner's fence.
            self.dirty = true;
        }
        if phase == Phase::Live {
            count(&self.metrics, RecordStatus::Applied);
            self.dirty = true;
            self.unflushed += 1;
            self.last_event = Some(now);
        }
    }

    /// A shard closed by a reshard was read to its end: its final checkpoint goes out with the
    /// next flush (then its lease is released); a shard that never delivered a record has nothing
    /// to commit and is released now.
    fn on_shard_ended(&mut self, shard: &Arc<str>) {
        let Some(cursor) = self.cursors.get_mut(shard) else {
            return;
        };
        cursor.end();
        tracing::info!(%shard, "shard ended (reshard): committing its final checkpoint");
        if cursor.checkpoint(self.state.epoch()).is_none() {
            self.cursors.remove(shard);
            self.gate.retire(shard);
        } else {
            self.dirty = true;
        }
    }

    async fn on_tick(&mut self) {
        self.publish_gauges();
        let dropped = self.state.take_levels_dropped();
        if dropped > 0 {
            self.metrics.book_levels_dropped.inc_by(dropped);
        }
        self.check_leases();
        if self.cursors.is_empty() || self.replaying() {
            return;
        }
        let wait = Duration::from_millis(self.cfg.reanchor.snapshot_wait_ms);
        let cooldown = Duration::from_millis(self.cfg.reanchor.failed_cooldown_ms);
        if let Some(epoch) = self.state.on_timer(Instant::now(), wait, cooldown) {
            if let Err(e) = self.gate.store.request_snapshot(epoch, "timeout").await {
                tracing::warn!(epoch, error = %e, "snapshot request not sent");
            } else {
                tracing::info!(epoch, "asked the ingestor for a snapshot");
            }
        }
        for note in self.state.drain_notes() {
            note_metrics(&self.metrics, &note, Phase::Live);
        }
        if self.state.take_anchor_changed() {
            self.anchor_dirty = true;
        }
        // Idle or failing: check Redis every second so health follows it without writes.
        if self.last_redis_check.elapsed() >= Duration::from_secs(1)
            && self.retry_at.is_none_or(|t| Instant::now() >= t)
            && !self.dirty
        {
            let ok = self.gate.store.ping().await.is_ok();
            self.set_redis(ok, None);
        }
    }

    fn publish_gauges(&self) {
        let m = &self.metrics;
        let st = self.state.sync_state();
        m.book_state.set(match st {
            SyncState::Synced => 0.0,
            SyncState::Buffering => 1.0,
            SyncState::Failed => 2.0,
        });
        m.anchor_epoch.set(self.state.epoch() as f64);
        m.reanchor_buffer_depth.set(self.state.buffered() as f64);
        let detail = Some(format!("anchor {} epoch {}", st.as_str(), self.state.epoch()));
        let fresh = self
            .last_event
            .is_some_and(|t| t.elapsed() < Duration::from_secs(10));
        let (level, word) = match st {
            SyncState::Synced if fresh => (Level::Healthy, "active"),
            SyncState::Failed => (Level::Degraded, "failed"),
            _ => (Level::Degraded, "stale"),
        };
        self.health.set("feature_pipeline", level, word, detail);
        self.update_ready();
    }

    fn update_ready(&self) {
        let ready = self.redis_ok == Some(true) && self.gate.consuming(Duration::from_secs(30));
        self.health.set_ready(ready);
    }

    fn set_redis(&mut self, ok: bool, err: Option<&StoreError>) {
        self.redis_ok = Some(ok);
        self.last_redis_check = Instant::now();
        if ok {
            self.health.set("redis", Level::Healthy, "connected", None);
        } else {
            let detail = err.map(|e| e.to_string());
            // Degraded, not unhealthy: the process is fine and retries by itself (a container
            // restart would not help); readiness is withdrawn.
            self.health.set("redis", Level::Degraded, "disconnected", detail);
        }
        self.update_ready();
    }

    /// A shard lease was lost (another owner, or Redis lost it): the in-memory state derives from
    /// that shard, so drop it; the next claim replays from the stored checkpoint.
    fn check_leases(&mut self) -> bool {
        if self.cursors.keys().all(|s| self.gate.is_held(s)) {
            return true;
        }
        tracing::warn!("a shard lease was lost: dropping in-memory state until the shard is claimed again");
        self.reset();
        false
    }

    async fn flush(&mut self) {
        if self.replaying() || !self.check_leases() {
            return;
        }
        let started = Instant::now();
        let published = self.state.publish();
        self.metrics
            .feature_computation_duration
            .observe(started.elapsed().as_secs_f64());
        let epoch = published.epoch;
        let writes: Vec<ShardWrite<'_>> = self
            .cursors
            .iter()
            .filter_map(|(shard, c)| {
                Some(ShardWrite {
                    shard,
                    token: &c.token,
                    ckpt: c.checkpoint(epoch)?,
                })
            })
            .collect();
        if writes.is_empty() {
            return; // holds no shard: never write state without a lease
        }
        let ended: Vec<Arc<str>> = writes
            .iter()
            .filter(|w| w.ckpt.ended)
            .map(|w| Arc::from(w.shard))
            .collect();
        let res = self.gate.store.flush(&published, &writes, now_us()).await;
        match res {
            Ok(repairs) => {
                for kind in repairs {
                    tracing::error!(
                        what = kind.as_str(),
                        "garbled value in the stored state (not a decimal) overwritten by this flush"
                    );
                    self.gate.store.repaired(kind);
                }
                for shard in ended {
                    self.cursors.remove(&shard);
                    self.gate.retire(&shard);
                }
                self.metrics.feature_updates.inc();
                if published.fv.event_time_us > 0 {
                    self.metrics.feature_completeness.set(published.fv.completeness());
                }
                self.dirty = false;
                self.anchor_dirty = false;
                self.unflushed = 0;
                self.last_flush = Instant::now();
                self.retry_at = None;
                self.backoff.reset();
                self.set_redis(true, None);
            }
            Err(StoreError::Fenced(why)) => {
                tracing::error!(%why, "fenced by a newer owner: dropping in-memory state and re-claiming");
                self.metrics.error(ErrorType::Rejected, Stage::Redis);
                self.reset();
            }
            Err(StoreError::EpochRegression(stored)) => {
                // Never retried as is (it would be refused forever): open a newer epoch.
                let ours = self.state.epoch();
                tracing::error!(
                    stored,
                    ours,
                    "flush refused: Redis holds a newer anchor epoch; re-anchoring at epoch {}",
                    stored.saturating_add(1).max(ours + 1)
                );
                self.metrics.error(ErrorType::Rejected, Stage::Redis);
                self.gate.store.repaired(StateRepair::EpochRegression);
                self.state.open_epoch_above(stored, Instant::now());
                for note in self.state.drain_notes() {
                    note_metrics(&self.metrics, &note, Phase::Live);
                }
                self.state.take_anchor_changed();
                self.anchor_dirty = true;
                self.retry_at = Some(Instant::now() + self.backoff.next_delay());
            }
            Err(e) => {
                let t = match e {
                    StoreError::Timeout => ErrorType::Timeout,
                    _ => ErrorType::Connection,
                };
                let delay = self.backoff.next_delay();
                self.retry_at = Some(Instant::now() + delay);
                if e.wrong_type() {
                    tracing::error!(error = %e, "state key of the wrong type: unhealthy until it is deleted");
                    self.metrics.error(ErrorType::Rejected, Stage::Redis);
                    self.health
                        .set("redis", Level::Unhealthy, "corrupt", Some(e.corrupt_detail()));
                    self.redis_ok = Some(false);
                    self.health.set_ready(false);
                    return;
                }
                self.metrics.error(t, Stage::Redis);
                tracing::warn!(error = %e, retry_in = ?delay, unflushed = self.unflushed, "state flush failed");
                self.set_redis(false, Some(&e));
            }
        }
    }

    /// After fencing: forget everything; the next claim replays from the new owner's checkpoint.
    fn reset(&mut self) {
        // Closed shards stay finished in this process (their final checkpoint was not written).
        for (shard, c) in &self.cursors {
            if c.is_ended() {
                self.gate.retire(shard);
            }
        }
        let fresh = Pipeline::new(
            self.cfg.clone(),
            self.gate.clone(),
            self.metrics.clone(),
            self.health.clone(),
        );
        *self = fresh;
        self.update_ready();
    }
}

fn count(m: &AggregatorMetrics, status: RecordStatus) {
    m.kinesis_records_processed
        .get_or_create(&RecordLabels {
            stream: StreamRole::MarketEvents,
            status,
        })
        .inc();
}

fn error_type(e: &DecodeError) -> ErrorType {
    match e {
        DecodeError::Truncated { .. } => ErrorType::Truncated,
        DecodeError::UnknownTemplate { .. } => ErrorType::UnknownTemplate,
        DecodeError::WrongSchemaId { .. } | DecodeError::UnsupportedVersion { .. } => {
            ErrorType::UnknownSchema
        }
        DecodeError::GroupTooLarge { .. } => ErrorType::OversizedGroup,
        _ => ErrorType::Malformed,
    }
}

fn note_metrics(m: &AggregatorMetrics, note: &Note, phase: Phase) {
    let reanchor = |status| {
        m.reanchor_operations
            .get_or_create(&ReanchorLabels { status })
            .inc();
    };
    match note {
        Note::Reanchored { epoch, wall } => {
            tracing::info!(
                epoch,
                ?wall,
                replay = (phase == Phase::Replay),
                "book re-anchored"
            );
            if phase == Phase::Live {
                reanchor(ReanchorStatus::Success);
                if let Some(w) = wall {
                    m.reanchor_duration.observe(w.as_secs_f64());
                }
            }
        }
        Note::Failed { epoch } => {
            tracing::error!(
                epoch,
                "re-anchor failed: features marked not usable until a new attempt"
            );
            if phase == Phase::Live {
                reanchor(ReanchorStatus::Failed);
            }
        }
        Note::Superseded if phase == Phase::Live => reanchor(ReanchorStatus::Superseded),
        Note::GapDetected { epoch, reason } => {
            tracing::warn!(epoch, reason, "book gap: buffering until a newer snapshot");
            if phase == Phase::Live {
                m.error(ErrorType::SequenceBreak, Stage::Sequence);
            }
        }
        Note::Poison if phase == Phase::Live => m.error(ErrorType::Malformed, Stage::Decode),
        Note::SnapshotIgnored => tracing::info!("snapshot from before the gap ignored"),
        _ => {}
    }
}
