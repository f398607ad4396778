//! Per-shard position: the checkpoint loaded at claim time, replay after a restart, producer dedup
//! and the checkpoint to write next. Pure.
//!
//! After a restart the shard is re-read from `replay_from` (without writing) up to the committed
//! `seq`, so the in-memory book and feature windows are rebuilt exactly; records after `seq` are
//! new. Book inputs are fed only from the anchor point (the event that started the current anchor
//! epoch), with the epoch offset that makes the rebuilt state machine publish the same epochs.

use kinesis_io::consumer::seq_cmp;
use std::cmp::Ordering;
use std::collections::VecDeque;

/// At most this many producers are remembered for dedup (most recent kept).
pub const MAX_PRODUCERS: usize = 16;

/// The stored checkpoint of one shard (`{SYMBOL}:ckpt:<shard>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: String,
    pub replay_from: Option<String>,
    pub anchor: Option<AnchorPoint>,
    pub producers: Vec<(u64, u64)>,
    pub fence: u64,
    pub epoch: u64,
    /// The shard was closed by a reshard and read to its end; `seq` is its last record.
    pub ended: bool,
}

/// Where the current anchor epoch started: record, event index inside it, epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorPoint {
    pub seq: String,
    pub index: u32,
    pub epoch: u64,
}

/// Last batch sequence per producer id.
#[derive(Debug, Clone, Default)]
pub struct Dedup(VecDeque<(u64, u64)>);

impl Dedup {
    pub fn from_pairs(p: &[(u64, u64)]) -> Self {
        Dedup(p.iter().copied().collect())
    }
    /// `true` when the record is new (and remembers it); `false` for a duplicate or older batch.
    pub fn admit(&mut self, producer: u64, batch: u64) -> bool {
        if let Some(i) = self.0.iter().position(|&(p, _)| p == producer) {
            let (_, last) = self.0[i];
            if batch <= last {
                return false;
            }
            self.0.remove(i);
        }
        self.0.push_back((producer, batch));
        while self.0.len() > MAX_PRODUCERS {
            self.0.pop_front();
        }
        true
    }
    pub fn pairs(&self) -> Vec<(u64, u64)> {
        self.0.iter().copied().collect()
    }
}

/// What the cursor says about a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// At or before the committed checkpoint: rebuild state, do not count as new.
    Replay,
    Live,
}

#[derive(Debug)]
pub struct ShardCursor {
    pub token: String,
    pub fence: u64,
    committed: Option<String>,
    anchor: Option<AnchorPoint>,
    loaded: Option<Checkpoint>,
    started: bool,
    live: Dedup,
    replay: Dedup,
    applied: Option<String>,
    marks: VecDeque<(u64, String)>,
    replay_window_us: u64,
    caught_up: bool,
    floor: u64,
    ended: bool,
}

impl ShardCursor {
    pub fn new(token: String, fence: u64, ckpt: Option<Checkpoint>, replay_window_us: u64) -> Self {
        ShardCursor {
            token,
            fence,
            committed: ckpt.as_ref().map(|c| c.seq.clone()),
            anchor: ckpt.as_ref().and_then(|c| c.anchor.clone()),
            live: Dedup::from_pairs(ckpt.as_ref().map(|c| c.producers.as_slice()).unwrap_or(&[])),
            loaded: ckpt,
            started: false,
            replay: Dedup::default(),
            applied: None,
            marks: VecDeque::new(),
            replay_window_us,
            caught_up: false,
            floor: 0,
            ended: false,
        }
    }

    /// The anchor epoch stored in Redis when the shard was claimed: a fresh state never publishes
    /// an epoch at or below it unless it rebuilds that very epoch from this shard's anchor.
    pub fn with_floor(mut self, stored_epoch: u64) -> Self {
        self.floor = stored_epoch;
        self
    }

    /// The shard was read to its end (closed by a reshard).
    pub fn end(&mut self) {
        self.ended = true;
        self.caught_up = true;
    }

    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// Called with the first record this cursor sees; returns the epoch offset for a fresh state
    /// machine (published epoch = machine epoch + offset), or `None` when the state continues.
    ///
    /// `running`: the in-memory state already holds other shards' records (a child shard after a
    /// reshard, or a second shard): the book's anchor lies elsewhere, so this shard records none
    /// until a gap inside it starts a new epoch.
    pub fn first_record(&mut self, seq: &str, running: bool) -> Option<u64> {
        if self.started {
            return None;
        }
        self.started = true;
        if running {
            if self.loaded.is_none() {
                self.anchor = None;
            }
            return None;
        }
        let floor = self.floor.max(self.loaded.as_ref().map_or(0, |c| c.epoch));
        match (&self.loaded, &self.anchor) {
            (Some(_), Some(a)) if seq_cmp(seq, &a.seq) != Ordering::Greater => {
                Some(a.epoch.saturating_sub(1))
            }
            _ => {
                // No checkpoint, or the anchor's start is not re-readable: a new epoch above every
                // stored one (re-anchor from a snapshot).
                let epoch = floor.saturating_add(1);
                self.anchor = Some(AnchorPoint {
                    seq: seq.into(),
                    index: 0,
                    epoch,
                });
                Some(floor)
            }
        }
    }

    pub fn phase(&self, seq: &str) -> Phase {
        match &self.committed {
            Some(c) if seq_cmp(seq, c) != Ordering::Greater => Phase::Replay,
            _ => Phase::Live,
        }
    }

    /// Dedup by the envelope's producer id and batch sequence (separate state while replaying).
    pub fn admit(&mut self, phase: Phase, producer: u64, batch: u64) -> bool {
        match phase {
            Phase::Replay => self.replay.admit(producer, batch),
            Phase::Live => self.live.admit(producer, batch),
        }
    }

    /// Whether event `index` of record `seq` goes to the book state machine.
    pub fn feed_book(&self, seq: &str, index: u32, is_diff: bool) -> bool {
        let Some(a) = &self.anchor else { return true };
        match seq_cmp(seq, &a.seq).then(index.cmp(&a.index)) {
            Ordering::Greater => true,
            Ordering::Equal => is_diff,
            Ordering::Less => false,
        }
    }

    /// The current anchor epoch started at this event.
    pub fn set_anchor(&mut self, seq: &str, index: u32, epoch: u64) {
        self.anchor = Some(AnchorPoint {
            seq: seq.into(),
            index,
            epoch,
        });
    }

    /// A record was applied (either phase); `time_us` is the state's exchange clock after it.
    pub fn applied(&mut self, phase: Phase, seq: &str, time_us: u64) {
        if phase == Phase::Live {
            self.applied = Some(seq.to_string());
        }
        if phase == Phase::Live || self.committed.as_deref() == Some(seq) {
            self.caught_up = true;
        }
        if self
            .marks
            .back()
            .is_none_or(|(t, _)| time_us >= t.saturating_add(1_000_000))
        {
            self.marks.push_back((time_us, seq.to_string()));
        }
        let horizon = time_us.saturating_sub(self.replay_window_us);
        while self.marks.len() > 1 && self.marks.get(1).is_some_and(|(t, _)| *t <= horizon) {
            self.marks.pop_front();
        }
    }

    /// The checkpoint for the next flush, or `None` while nothing new was applied.
    pub fn checkpoint(&self, epoch: u64) -> Option<Checkpoint> {
        let seq = self.applied.clone().or_else(|| self.committed.clone())?;
        let warm = self.marks.front().map(|(_, s)| s.clone());
        let replay_from = match (&self.anchor, warm) {
            (Some(a), Some(w)) => Some(if seq_cmp(&a.seq, &w) == Ordering::Less {
                a.seq.clone()
            } else {
                w
            }),
            (Some(a), None) => Some(a.seq.clone()),
            (None, w) => w,
        };
        Some(Checkpoint {
            seq,
            replay_from,
            anchor: self.anchor.clone(),
            producers: self.live.pairs(),
            fence: self.fence,
            epoch,
            ended: self.ended,
        })
    }

    /// Rebuilding state from before the checkpoint: the state must not be flushed yet.
    pub fn replaying(&self) -> bool {
        self.committed.is_some() && !self.caught_up
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_or_older_batch_of_the_same_producer_is_a_duplicate() {
        let mut d = Dedup::default();
        assert!(d.admit(7, 1));
        assert!(d.admit(7, 2));
        assert!(!d.admit(7, 2));
        assert!(!d.admit(7, 1));
        assert!(d.admit(8, 1), "another producer has its own sequence");
    }

    #[test]
    fn records_up_to_the_checkpoint_replay_and_later_ones_are_live() {
        let ck = Checkpoint {
            seq: "500".into(),
            epoch: 3,
            ..Default::default()
        };
        let c = ShardCursor::new("t".into(), 1, Some(ck), 1);
        assert_eq!(c.phase("499"), Phase::Replay);
        assert_eq!(c.phase("500"), Phase::Replay);
        assert_eq!(c.phase("1000"), Phase::Live, "longer decimal strings are larger");
    }

    #[test]
    fn book_inputs_start_at_the_anchor_event_and_a_gap_marker_there_is_not_replayed() {
        let anchor = AnchorPoint {
            seq: "20".into(),
            index: 3,
            epoch: 4,
        };
        let ck = Checkpoint {
            seq: "30".into(),
            anchor: Some(anchor),
            epoch: 4,
            ..Default::default()
        };
        let mut c = ShardCursor::new("t".into(), 1, Some(ck), 1);
        assert_eq!(
            c.first_record("10", false),
            Some(3),
            "machine epoch 1 publishes as 4"
        );
        assert!(!c.feed_book("10", 9, true));
        assert!(!c.feed_book("20", 2, true));
        assert!(c.feed_book("20", 3, true));
        assert!(!c.feed_book("20", 3, false));
        assert!(c.feed_book("21", 0, false));
    }

    #[test]
    fn a_replay_that_starts_after_the_anchor_opens_a_new_epoch() {
        let anchor = AnchorPoint {
            seq: "20".into(),
            index: 0,
            epoch: 4,
        };
        let ck = Checkpoint {
            seq: "30".into(),
            anchor: Some(anchor),
            epoch: 5,
            ..Default::default()
        };
        let mut c = ShardCursor::new("t".into(), 1, Some(ck), 1);
        assert_eq!(c.first_record("25", false), Some(5));
        assert!(c.feed_book("25", 0, true));
        assert!(c.feed_book("26", 0, false));
    }

    #[test]
    fn replay_from_is_the_earlier_of_the_anchor_and_the_warm_up_window() {
        let mut c = ShardCursor::new("t".into(), 1, None, 10_000_000);
        c.first_record("100", false);
        for (i, t) in (0..40u64).enumerate() {
            c.applied(Phase::Live, &(100 + i).to_string(), t * 1_000_000);
        }
        let ck = c.checkpoint(1).unwrap();
        assert_eq!(ck.seq, "139");
        assert_eq!(
            ck.replay_from.as_deref(),
            Some("100"),
            "anchor at the stream start"
        );
        c.set_anchor("135", 0, 2);
        let ck = c.checkpoint(2).unwrap();
        assert_eq!(
            ck.replay_from.as_deref(),
            Some("129"),
            "10 s of exchange time before the end"
        );
    }

    #[test]
    fn a_fresh_state_opens_an_epoch_above_the_stored_one() {
        let mut c = ShardCursor::new("t".into(), 1, None, 1).with_floor(7);
        assert_eq!(
            c.first_record("5", false),
            Some(7),
            "machine epoch 1 publishes as 8"
        );
        c.applied(Phase::Live, "5", 1);
        assert_eq!(c.checkpoint(8).unwrap().anchor.map(|a| a.epoch), Some(8));
        let ck = Checkpoint {
            seq: "30".into(),
            anchor: None,
            epoch: 4,
            ..Default::default()
        };
        let mut c = ShardCursor::new("t".into(), 1, Some(ck), 1).with_floor(9);
        assert_eq!(
            c.first_record("25", false),
            Some(9),
            "the stored anchor epoch wins over the checkpoint's"
        );
    }

    #[test]
    fn a_shard_joining_a_running_state_records_no_anchor_of_its_own() {
        let mut c = ShardCursor::new("t".into(), 1, None, 1).with_floor(3);
        assert_eq!(c.first_record("5", true), None);
        c.applied(Phase::Live, "5", 1);
        let ck = c.checkpoint(3).unwrap();
        assert_eq!(ck.anchor, None, "the anchor lies in the parent");
        assert!(c.feed_book("5", 0, true));
        c.set_anchor("9", 2, 4);
        assert_eq!(
            c.checkpoint(4).unwrap().anchor.map(|a| a.seq),
            Some("9".to_string())
        );
        c.end();
        assert!(c.checkpoint(4).unwrap().ended);
    }
}
