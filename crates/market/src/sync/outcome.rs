//! What the re-anchor state machine tells its caller after each input. Every variant has a bounded
//! `label()` so the aggregator can count outcomes in metrics without unbounded label values.

/// Anchor state as published next to the book (`{SYMBOL}:anchor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncState {
    /// The book is continuous with the exchange; downstream may use it.
    Synced,
    /// Waiting for a snapshot / bridging diff; the book must not be used.
    Buffering,
    /// Too many failed re-anchor tries; the book must not be used until [`crate::BookSync::on_gap`] starts a
    /// new attempt (fail closed).
    Failed,
}

impl SyncState {
    /// Stable lower-case name (`synced` | `buffering` | `failed`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Synced => "synced",
            Self::Buffering => "buffering",
            Self::Failed => "failed",
        }
    }
}

/// Why the book stopped being synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GapReason {
    /// The caller reported a break (reconnect, stream-gap marker, decode failure).
    External,
    /// `U > book id + 1`: updates were missed.
    Missed {
        /// `U` the book needed.
        expected: u64,
        /// `U` that arrived.
        got: u64,
    },
    /// `U <= book id < u`: the diff overlaps applied updates.
    Overlap,
    /// Applying a diff left the book crossed.
    Crossed,
}

impl GapReason {
    /// Bounded metric label.
    pub const fn label(&self) -> &'static str {
        match self {
            Self::External => "external",
            Self::Missed { .. } => "missed",
            Self::Overlap => "overlap",
            Self::Crossed => "crossed",
        }
    }
}

/// Why a snapshot did not re-anchor the book (each one counts as a failed try).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// `lastUpdateId + 1 < U` of the oldest usable diff: the snapshot predates the buffered stream.
    TooOld,
    /// The snapshot, or the book rebuilt from it, is crossed.
    Crossed,
    /// The caller reported that fetching the snapshot failed.
    FetchFailed,
}

impl RejectReason {
    /// Bounded metric label.
    pub const fn label(&self) -> &'static str {
        match self {
            Self::TooOld => "too_old",
            Self::Crossed => "crossed",
            Self::FetchFailed => "fetch_failed",
        }
    }
}

/// Why an input was ignored without changing state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IgnoreReason {
    /// Snapshot requested in an older epoch (a newer gap happened since).
    StaleEpoch,
    /// Snapshot tagged with an epoch that was never issued.
    FutureEpoch,
    /// Snapshot arrived while synced (nobody asked for it).
    NotBuffering,
    /// The state machine is failed; inputs are ignored until `on_gap()`.
    Failed,
    /// Diff with `U > u`.
    MalformedDiff,
}

impl IgnoreReason {
    /// Bounded metric label.
    pub const fn label(&self) -> &'static str {
        match self {
            Self::StaleEpoch => "stale_epoch",
            Self::FutureEpoch => "future_epoch",
            Self::NotBuffering => "not_buffering",
            Self::Failed => "failed",
            Self::MalformedDiff => "malformed_diff",
        }
    }
}

/// Inputs for re-anchor metrics. Exchange times are µs; the caller adds wall-clock timing by remembering
/// when it saw `GapDetected { epoch }` and measuring to `Reanchored` with the same epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReanchorReport {
    /// Epoch that is now synced.
    pub epoch: u64,
    /// `lastUpdateId` of the snapshot used.
    pub snapshot_id: u64,
    /// Failed tries before this success.
    pub failed_tries: u32,
    /// Buffered diffs applied on top of the snapshot (including the bridging one).
    pub applied_from_buffer: usize,
    /// Buffered diffs dropped as already contained in the snapshot.
    pub stale_dropped: usize,
    /// Diffs dropped from the bounded buffer while buffering (overflow, drop-oldest policy).
    pub overflow_dropped: u64,
    /// Event time of the first diff seen in this outage (the gap-revealing or first buffered diff).
    pub outage_start_event_time_us: Option<u64>,
    /// Event time of the last diff applied while re-anchoring.
    pub resumed_event_time_us: u64,
}

impl ReanchorReport {
    /// Exchange-time length of the outage, when both ends are known.
    pub fn exchange_duration_us(&self) -> Option<u64> {
        self.outage_start_event_time_us
            .map(|s| self.resumed_event_time_us.saturating_sub(s))
    }
}

/// Result of one input to [`crate::BookSync`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncOutcome {
    /// Diff applied to the synced book.
    Applied,
    /// Diff already contained in the book / snapshot; dropped.
    Stale,
    /// Diff buffered while waiting for a snapshot.
    Buffered,
    /// Diff buffered; the buffer was full so the oldest diff was dropped (drop-oldest policy).
    BufferedDroppedOldest,
    /// Diff buffered after a break in the buffered chain; the older (now useless) diffs were discarded.
    BufferedAfterBreak {
        /// How many buffered diffs were discarded.
        discarded: usize,
    },
    /// The book is no longer synced. The caller must fetch a snapshot and pass it with this `epoch`.
    GapDetected {
        /// New anchor epoch.
        epoch: u64,
        /// What broke.
        reason: GapReason,
    },
    /// Snapshot accepted and loaded off to the side; waiting for the diff that bridges it.
    SnapshotPending {
        /// Current epoch.
        epoch: u64,
    },
    /// The book is synced again.
    Reanchored(ReanchorReport),
    /// The snapshot did not re-anchor; still buffering, fetch another one.
    SnapshotRejected {
        /// Current epoch.
        epoch: u64,
        /// Why.
        reason: RejectReason,
        /// Failed tries so far in this outage.
        failed_tries: u32,
    },
    /// Too many failed tries: the state is now failed (fail closed).
    Failed {
        /// Epoch that failed.
        epoch: u64,
        /// The last rejection.
        reason: RejectReason,
        /// Failed tries in this outage.
        failed_tries: u32,
    },
    /// Input ignored; state unchanged.
    Ignored(IgnoreReason),
}

impl SyncOutcome {
    /// Bounded metric label.
    pub const fn label(&self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Stale => "stale",
            Self::Buffered => "buffered",
            Self::BufferedDroppedOldest => "buffer_overflow",
            Self::BufferedAfterBreak { .. } => "buffer_break",
            Self::GapDetected { .. } => "gap_detected",
            Self::SnapshotPending { .. } => "snapshot_pending",
            Self::Reanchored(_) => "reanchored",
            Self::SnapshotRejected { .. } => "snapshot_rejected",
            Self::Failed { .. } => "failed",
            Self::Ignored(_) => "ignored",
        }
    }

    /// `true` when the synced book changed (features should be recomputed).
    pub const fn book_changed(&self) -> bool {
        matches!(self, Self::Applied | Self::Reanchored(_))
    }
}
