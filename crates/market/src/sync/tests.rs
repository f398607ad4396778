use super::*;
use crate::events::Level;

fn diff(first: u64, last: u64) -> DepthDiff {
    DepthDiff {
        first_update_id: first,
        last_update_id: last,
        event_time_us: last * 1000,
        ..Default::default()
    }
}

fn diff_with(first: u64, last: u64, bids: &[(i64, i64)], asks: &[(i64, i64)]) -> DepthDiff {
    DepthDiff {
        bids: bids.iter().map(|&(p, q)| Level::new(p, q)).collect(),
        asks: asks.iter().map(|&(p, q)| Level::new(p, q)).collect(),
        ..diff(first, last)
    }
}

fn snapshot(id: u64) -> DepthSnapshot {
    DepthSnapshot {
        last_update_id: id,
        bids: vec![Level::new(100, 10)],
        asks: vec![Level::new(102, 10)],
    }
}

fn synced_at(id: u64) -> BookSync {
    let mut s = BookSync::new(SyncConfig::default());
    assert!(matches!(
        s.on_snapshot(1, &snapshot(id)),
        SyncOutcome::SnapshotPending { epoch: 1 }
    ));
    assert!(matches!(
        s.on_diff(diff(id + 1, id + 1)),
        SyncOutcome::Reanchored(_)
    ));
    s
}

#[test]
fn new_state_machine_buffers_and_hides_the_book() {
    let s = BookSync::new(SyncConfig::default());
    assert_eq!((s.state(), s.epoch()), (SyncState::Buffering, 1));
    assert!(s.book().is_none());
}

#[test]
fn cold_start_drops_stale_diffs_and_applies_bridging_chain() {
    let mut s = BookSync::new(SyncConfig::default());
    assert_eq!(s.on_diff(diff(90, 95)), SyncOutcome::Buffered);
    assert_eq!(s.on_diff(diff(96, 100)), SyncOutcome::Buffered);
    assert_eq!(
        s.on_diff(diff_with(101, 105, &[(101, 3)], &[])),
        SyncOutcome::Buffered
    );
    assert_eq!(
        s.on_diff(diff_with(106, 107, &[], &[(102, 0), (103, 4)])),
        SyncOutcome::Buffered
    );
    let SyncOutcome::Reanchored(r) = s.on_snapshot(1, &snapshot(100)) else {
        panic!("expected re-anchor")
    };
    assert_eq!(
        (r.epoch, r.snapshot_id, r.stale_dropped, r.applied_from_buffer),
        (1, 100, 2, 2)
    );
    assert_eq!(r.exchange_duration_us(), Some(107_000 - 95_000));
    let book = s.book().expect("synced");
    assert_eq!(book.best_bid(), Some(Level::new(101, 3)));
    assert_eq!(book.best_ask(), Some(Level::new(103, 4)));
    assert_eq!(s.last_update_id(), Some(107));
}

#[test]
fn snapshot_before_any_diff_waits_for_the_bridging_diff() {
    let mut s = BookSync::new(SyncConfig::default());
    assert_eq!(
        s.on_snapshot(1, &snapshot(50)),
        SyncOutcome::SnapshotPending { epoch: 1 }
    );
    assert_eq!(s.on_diff(diff(40, 50)), SyncOutcome::Stale);
    assert!(s.book().is_none());
    assert!(matches!(s.on_diff(diff(45, 55)), SyncOutcome::Reanchored(r) if r.applied_from_buffer == 1));
    assert_eq!(s.state(), SyncState::Synced);
}

#[test]
fn snapshot_older_than_the_buffer_is_rejected_and_counted_then_a_newer_one_syncs() {
    let mut s = BookSync::new(SyncConfig::default());
    s.on_diff(diff(200, 210));
    let rejected = SyncOutcome::SnapshotRejected {
        epoch: 1,
        reason: RejectReason::TooOld,
        failed_tries: 1,
    };
    assert_eq!(s.on_snapshot(1, &snapshot(150)), rejected);
    assert_eq!(s.buffered(), 1, "the buffer survives a rejected snapshot");
    let SyncOutcome::Reanchored(r) = s.on_snapshot(1, &snapshot(205)) else {
        panic!("expected re-anchor")
    };
    assert_eq!(r.failed_tries, 1);
    assert_eq!(s.failed_tries(), 0, "a success resets the try counter");
}

#[test]
fn pending_snapshot_is_rejected_when_the_next_diff_skips_past_it() {
    let mut s = BookSync::new(SyncConfig::default());
    s.on_snapshot(1, &snapshot(50));
    assert!(matches!(
        s.on_diff(diff(60, 70)),
        SyncOutcome::SnapshotRejected {
            reason: RejectReason::TooOld,
            ..
        }
    ));
    assert!(matches!(
        s.on_snapshot(1, &snapshot(65)),
        SyncOutcome::Reanchored(_)
    ));
}

#[test]
fn synced_book_applies_contiguous_drops_stale_and_detects_gaps() {
    let mut s = synced_at(100);
    assert_eq!(
        s.on_diff(diff_with(102, 103, &[(101, 1)], &[])),
        SyncOutcome::Applied
    );
    assert_eq!(s.on_diff(diff(90, 103)), SyncOutcome::Stale);
    let gap = s.on_diff(diff(105, 106));
    assert_eq!(
        gap,
        SyncOutcome::GapDetected {
            epoch: 2,
            reason: GapReason::Missed {
                expected: 104,
                got: 105
            }
        }
    );
    assert!(s.book().is_none(), "book is hidden while re-anchoring");
    assert_eq!(s.buffered(), 1, "the gap-revealing diff starts the new buffer");
}

#[test]
fn overlapping_diff_while_synced_is_a_gap() {
    let mut s = synced_at(100);
    assert_eq!(
        s.on_diff(diff(101, 110)),
        SyncOutcome::GapDetected {
            epoch: 2,
            reason: GapReason::Overlap
        }
    );
}

#[test]
fn diff_that_crosses_the_book_forces_a_reanchor() {
    let mut s = synced_at(100);
    let out = s.on_diff(diff_with(102, 102, &[(102, 1)], &[]));
    assert_eq!(
        out,
        SyncOutcome::GapDetected {
            epoch: 2,
            reason: GapReason::Crossed
        }
    );
}

#[test]
fn snapshots_from_other_epochs_or_while_synced_are_ignored() {
    let mut s = synced_at(100);
    assert_eq!(
        s.on_snapshot(1, &snapshot(101)),
        SyncOutcome::Ignored(IgnoreReason::NotBuffering)
    );
    s.on_gap();
    assert_eq!(
        s.on_snapshot(1, &snapshot(101)),
        SyncOutcome::Ignored(IgnoreReason::StaleEpoch)
    );
    assert_eq!(
        s.on_snapshot(3, &snapshot(101)),
        SyncOutcome::Ignored(IgnoreReason::FutureEpoch)
    );
    assert_eq!(s.state(), SyncState::Buffering);
}

#[test]
fn external_gap_bumps_epoch_monotonically_and_clears_the_buffer() {
    let mut s = BookSync::new(SyncConfig::default());
    s.on_diff(diff(1, 2));
    assert_eq!(
        s.on_gap(),
        SyncOutcome::GapDetected {
            epoch: 2,
            reason: GapReason::External
        }
    );
    assert_eq!(
        s.on_gap(),
        SyncOutcome::GapDetected {
            epoch: 3,
            reason: GapReason::External
        }
    );
    assert_eq!(s.buffered(), 0);
}

#[test]
fn fails_closed_after_max_tries_and_recovers_only_via_on_gap() {
    let mut s = BookSync::new(SyncConfig {
        buffer_capacity: 16,
        max_failed_tries: 3,
    });
    s.on_diff(diff(100, 101));
    assert!(matches!(
        s.on_snapshot_failed(1),
        SyncOutcome::SnapshotRejected { failed_tries: 1, .. }
    ));
    assert!(matches!(
        s.on_snapshot(1, &snapshot(10)),
        SyncOutcome::SnapshotRejected { failed_tries: 2, .. }
    ));
    let failed = s.on_snapshot(1, &snapshot(20));
    assert_eq!(
        failed,
        SyncOutcome::Failed {
            epoch: 1,
            reason: RejectReason::TooOld,
            failed_tries: 3
        }
    );
    assert_eq!(s.state(), SyncState::Failed);
    assert_eq!(
        s.on_diff(diff(102, 103)),
        SyncOutcome::Ignored(IgnoreReason::Failed)
    );
    assert_eq!(
        s.on_snapshot(1, &snapshot(101)),
        SyncOutcome::Ignored(IgnoreReason::Failed)
    );
    assert!(s.book().is_none());
    assert_eq!(
        s.on_gap(),
        SyncOutcome::GapDetected {
            epoch: 2,
            reason: GapReason::External
        }
    );
    assert_eq!((s.state(), s.failed_tries()), (SyncState::Buffering, 0));
}

#[test]
fn full_buffer_drops_oldest_and_reports_overflow_on_reanchor() {
    let mut s = BookSync::new(SyncConfig {
        buffer_capacity: 3,
        max_failed_tries: 5,
    });
    let outcomes: Vec<_> = (0..5).map(|i| s.on_diff(diff(10 + i, 10 + i))).collect();
    assert_eq!(outcomes[2], SyncOutcome::Buffered);
    assert_eq!(outcomes[3], SyncOutcome::BufferedDroppedOldest);
    assert_eq!(outcomes[4], SyncOutcome::BufferedDroppedOldest);
    assert_eq!(s.buffered(), 3);
    assert!(matches!(
        s.on_snapshot(1, &snapshot(9)),
        SyncOutcome::SnapshotRejected { .. }
    ));
    let SyncOutcome::Reanchored(r) = s.on_snapshot(1, &snapshot(12)) else {
        panic!("expected re-anchor")
    };
    assert_eq!((r.overflow_dropped, r.applied_from_buffer), (2, 2));
}

#[test]
fn break_inside_the_buffer_discards_the_older_chain() {
    let mut s = BookSync::new(SyncConfig::default());
    s.on_diff(diff(1, 5));
    s.on_diff(diff(6, 8));
    assert_eq!(
        s.on_diff(diff(20, 25)),
        SyncOutcome::BufferedAfterBreak { discarded: 2 }
    );
    assert_eq!(s.on_diff(diff(3, 4)), SyncOutcome::Stale);
    assert_eq!(s.buffered(), 1);
}

#[test]
fn crossed_snapshot_is_rejected() {
    let mut s = BookSync::new(SyncConfig::default());
    let crossed = DepthSnapshot {
        last_update_id: 5,
        bids: vec![Level::new(105, 1)],
        asks: vec![Level::new(100, 1)],
    };
    assert!(matches!(
        s.on_snapshot(1, &crossed),
        SyncOutcome::SnapshotRejected {
            reason: RejectReason::Crossed,
            ..
        }
    ));
}

#[test]
fn malformed_diff_is_ignored_in_every_state() {
    let mut s = BookSync::new(SyncConfig::default());
    assert_eq!(
        s.on_diff(diff(9, 3)),
        SyncOutcome::Ignored(IgnoreReason::MalformedDiff)
    );
    let mut s = synced_at(10);
    assert_eq!(
        s.on_diff(diff(15, 12)),
        SyncOutcome::Ignored(IgnoreReason::MalformedDiff)
    );
    assert_eq!(s.state(), SyncState::Synced);
}

#[test]
fn outcome_labels_are_distinct_and_only_book_changes_trigger_recompute() {
    let outcomes = [
        SyncOutcome::Applied,
        SyncOutcome::Stale,
        SyncOutcome::Buffered,
        SyncOutcome::BufferedDroppedOldest,
        SyncOutcome::BufferedAfterBreak { discarded: 1 },
        SyncOutcome::GapDetected {
            epoch: 1,
            reason: GapReason::External,
        },
        SyncOutcome::SnapshotPending { epoch: 1 },
        SyncOutcome::SnapshotRejected {
            epoch: 1,
            reason: RejectReason::TooOld,
            failed_tries: 1,
        },
        SyncOutcome::Failed {
            epoch: 1,
            reason: RejectReason::TooOld,
            failed_tries: 1,
        },
        SyncOutcome::Ignored(IgnoreReason::Failed),
    ];
    let labels: std::collections::HashSet<_> = outcomes.iter().map(SyncOutcome::label).collect();
    assert_eq!(labels.len(), outcomes.len());
    assert_eq!(outcomes.iter().filter(|o| o.book_changed()).count(), 1);
}
