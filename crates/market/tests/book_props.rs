//! Property tests: the book against a naive `BTreeMap` reference, and snapshot + diffs through the sync
//! state machine against a full replay of the same updates.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use market::{
    BTreeLadder, BookSync, DepthDiff, DepthSnapshot, Ladder, Level, OrderBook, Side, SyncConfig, SyncOutcome,
    TopOfBook, VecLadder,
};
use proptest::prelude::*;

/// Naive reference: plain maps, best found by scanning.
#[derive(Default, Clone)]
struct RefBook {
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
}

impl RefBook {
    fn set(&mut self, side: Side, price: i64, qty: i64) {
        let m = match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        };
        if qty > 0 {
            m.insert(price, qty);
        } else {
            m.remove(&price);
        }
    }

    fn top(&self, n: usize) -> TopOfBook {
        TopOfBook {
            bids: self
                .bids
                .iter()
                .rev()
                .take(n)
                .map(|(&p, &q)| Level::new(p, q))
                .collect(),
            asks: self
                .asks
                .iter()
                .take(n)
                .map(|(&p, &q)| Level::new(p, q))
                .collect(),
        }
    }

    fn snapshot(&self, id: u64) -> DepthSnapshot {
        let top = self.top(usize::MAX);
        DepthSnapshot {
            last_update_id: id,
            bids: top.bids,
            asks: top.asks,
        }
    }
}

fn side_strategy() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Bid), Just(Side::Ask)]
}

/// Updates that never cross: bids in 1..=100, asks in 101..=200.
fn update_strategy() -> impl Strategy<Value = (Side, i64, i64)> {
    (side_strategy(), 0i64..100, 0i64..4).prop_map(|(side, offset, qty)| match side {
        Side::Bid => (side, 100 - offset, qty),
        Side::Ask => (side, 101 + offset, qty),
    })
}

fn check_layout<L: Ladder>(ops: &[(Side, i64, i64)], n: usize) -> Result<(), TestCaseError> {
    let mut book: OrderBook<L> = OrderBook::new();
    let mut reference = RefBook::default();
    let mut top = TopOfBook::default();
    for &(side, price, qty) in ops {
        book.set_level(side, price, qty);
        reference.set(side, price, qty);
        book.top_n(n, &mut top);
        prop_assert_eq!(&top, &reference.top(n));
        prop_assert_eq!(book.best_bid(), reference.top(1).best_bid());
        prop_assert_eq!(book.best_ask(), reference.top(1).best_ask());
        prop_assert_eq!(book.qty_at(side, price), (qty > 0).then_some(qty));
    }
    prop_assert_eq!(book.ladder(Side::Bid).len(), reference.bids.len());
    prop_assert_eq!(book.ladder(Side::Ask).len(), reference.asks.len());
    Ok(())
}

/// Groups consecutive updates (ids 1..=n) into diffs, keeping the last quantity per level.
fn into_diffs(updates: &[(Side, i64, i64)], cuts: &[usize]) -> Vec<DepthDiff> {
    let mut diffs = Vec::new();
    let mut start = 0;
    let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (updates.len() + 1)).collect();
    bounds.push(updates.len());
    bounds.sort_unstable();
    bounds.dedup();
    for end in bounds.into_iter().filter(|&e| e > 0) {
        if end <= start {
            continue;
        }
        let mut levels: BTreeMap<(u8, i64), i64> = BTreeMap::new();
        for &(side, price, qty) in &updates[start..end] {
            levels.insert((u8::from(side == Side::Ask), price), qty);
        }
        let pick = |s| {
            levels
                .iter()
                .filter(|((k, _), _)| *k == s)
                .map(|((_, p), q)| Level::new(*p, *q))
                .collect()
        };
        diffs.push(DepthDiff {
            first_update_id: start as u64 + 1,
            last_update_id: end as u64,
            event_time_us: end as u64,
            bids: pick(0),
            asks: pick(1),
        });
        start = end;
    }
    diffs
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn vec_ladder_book_matches_naive_reference(ops in prop::collection::vec(update_strategy(), 0..300), n in 1usize..12) {
        check_layout::<VecLadder>(&ops, n)?;
    }

    #[test]
    fn btree_ladder_book_matches_naive_reference(ops in prop::collection::vec(update_strategy(), 0..300), n in 1usize..12) {
        check_layout::<BTreeLadder>(&ops, n)?;
    }

    #[test]
    fn snapshot_plus_diffs_equals_full_replay_for_any_snapshot_and_arrival_point(
        updates in prop::collection::vec(update_strategy(), 1..200),
        cuts in prop::collection::vec(0usize..400, 0..40),
        snapshot_at in 0usize..200,
        arrival in 0usize..60,
    ) {
        let diffs = into_diffs(&updates, &cuts);
        let snapshot_id = snapshot_at % updates.len();
        let mut state_at_snapshot = RefBook::default();
        for &(side, price, qty) in &updates[..snapshot_id] {
            state_at_snapshot.set(side, price, qty);
        }
        let mut full = state_at_snapshot.clone();
        for &(side, price, qty) in &updates[snapshot_id..] {
            full.set(side, price, qty);
        }
        let arrival = arrival % (diffs.len() + 1);
        let mut sync = BookSync::new(SyncConfig::default());
        let mut reanchored = 0;
        for (i, diff) in diffs.iter().enumerate() {
            if i == arrival {
                reanchored += usize::from(matches!(
                    sync.on_snapshot(1, &state_at_snapshot.snapshot(snapshot_id as u64)),
                    SyncOutcome::Reanchored(_)
                ));
            }
            let out = sync.on_diff(diff.clone());
            prop_assert!(!matches!(out, SyncOutcome::GapDetected { .. } | SyncOutcome::SnapshotRejected { .. }), "{:?}", out);
            reanchored += usize::from(matches!(out, SyncOutcome::Reanchored(_)));
        }
        if arrival == diffs.len() {
            reanchored += usize::from(matches!(
                sync.on_snapshot(1, &state_at_snapshot.snapshot(snapshot_id as u64)),
                SyncOutcome::Reanchored(_)
            ));
        }
        if snapshot_id == updates.len() {
            return Ok(()); // nothing after the snapshot: no bridging diff can exist
        }
        prop_assert_eq!(reanchored, 1);
        let book = sync.book().expect("synced");
        let mut top = TopOfBook::default();
        book.top_n(usize::MAX, &mut top);
        prop_assert_eq!(top, full.top(usize::MAX));
        prop_assert_eq!(book.last_update_id(), updates.len() as u64);
    }

    #[test]
    fn dropping_any_middle_diff_is_detected_as_a_gap_never_silently_applied(
        updates in prop::collection::vec(update_strategy(), 3..100),
        cuts in prop::collection::vec(0usize..200, 3..20),
        drop_pick in 1usize..100,
    ) {
        let diffs = into_diffs(&updates, &cuts);
        prop_assume!(diffs.len() >= 3);
        let drop = 1 + drop_pick % (diffs.len() - 2);
        let mut sync = BookSync::new(SyncConfig::default());
        sync.on_snapshot(1, &DepthSnapshot::default());
        let mut gaps = 0;
        for (i, diff) in diffs.iter().enumerate() {
            if i != drop {
                gaps += usize::from(matches!(sync.on_diff(diff.clone()), SyncOutcome::GapDetected { .. }));
            }
        }
        prop_assert_eq!(gaps, 1);
        prop_assert!(sync.book().is_none());
    }
}
