//! Binance diff-depth sequencing rules as pure functions (`U` = first update id, `u` = last update id).
//!
//! * While re-anchoring, diffs with `u <= lastUpdateId` are stale and dropped; the first applied diff must
//!   straddle the snapshot: `U <= lastUpdateId + 1 <= u`.
//! * Once synced, every diff must continue the chain exactly: `U == previous u + 1`. Stale diffs
//!   (`u <= book id`) are dropped; anything else (a hole, or an overlap that a correct stream never
//!   produces) is a gap and forces a re-anchor.

/// How a buffered diff relates to a snapshot's `lastUpdateId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstDiffCheck {
    /// `u <= lastUpdateId`: already contained in the snapshot; drop it.
    Stale,
    /// `U <= lastUpdateId + 1 <= u`: the bridging diff; apply it and continue with [`check_next_diff`].
    Bridges,
    /// `U > lastUpdateId + 1`: updates between the snapshot and this diff are missing; the snapshot is too
    /// old for this stream position.
    SnapshotTooOld,
    /// `U > u`: not a valid diff.
    Malformed,
}

/// How a diff relates to the id of an already-synced book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextDiffCheck {
    /// `u <= book id`: old news; drop it.
    Stale,
    /// `U == book id + 1`: apply it.
    Contiguous,
    /// `U > book id + 1`: updates were missed.
    Gap {
        /// The `U` the book needed (`book id + 1`).
        expected: u64,
        /// The `U` that arrived.
        got: u64,
    },
    /// `U <= book id < u`: overlaps what was applied; a correct stream never does this, so it is treated as
    /// a break in the chain.
    Overlap,
    /// `U > u`: not a valid diff.
    Malformed,
}

/// Classifies a buffered diff `[first, last]` against a snapshot's `lastUpdateId`.
pub const fn check_first_diff(snapshot_id: u64, first: u64, last: u64) -> FirstDiffCheck {
    if first > last {
        FirstDiffCheck::Malformed
    } else if last <= snapshot_id {
        FirstDiffCheck::Stale
    } else if first <= snapshot_id.saturating_add(1) {
        FirstDiffCheck::Bridges
    } else {
        FirstDiffCheck::SnapshotTooOld
    }
}

/// Classifies a live diff `[first, last]` against the book's current update id.
pub const fn check_next_diff(book_id: u64, first: u64, last: u64) -> NextDiffCheck {
    let expected = book_id.saturating_add(1);
    if first > last {
        NextDiffCheck::Malformed
    } else if last <= book_id {
        NextDiffCheck::Stale
    } else if first == expected {
        NextDiffCheck::Contiguous
    } else if first > expected {
        NextDiffCheck::Gap { expected, got: first }
    } else {
        NextDiffCheck::Overlap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_diff_rules_follow_binance_procedure() {
        use FirstDiffCheck::*;
        // (lastUpdateId, U, u, expected)
        let table: &[(u64, u64, u64, FirstDiffCheck)] = &[
            (100, 90, 99, Stale),            // entirely before the snapshot
            (100, 90, 100, Stale),           // u == lastUpdateId is still stale
            (100, 95, 101, Bridges),         // straddles lastUpdateId + 1
            (100, 101, 101, Bridges),        // starts exactly at lastUpdateId + 1
            (100, 101, 130, Bridges),        // starts exactly at lastUpdateId + 1, longer range
            (100, 100, 105, Bridges),        // U == lastUpdateId also straddles
            (100, 102, 110, SnapshotTooOld), // update 101 is missing
            (100, 110, 105, Malformed),      // U > u
            (0, 1, 1, Bridges),              // genesis
            (u64::MAX, 5, u64::MAX, Stale),  // no overflow at the top of the id space
        ];
        for &(snap, first, last, expected) in table {
            assert_eq!(
                check_first_diff(snap, first, last),
                expected,
                "snap={snap} U={first} u={last}"
            );
        }
    }

    #[test]
    fn next_diff_rules_require_exact_continuation() {
        use NextDiffCheck::*;
        // (book id, U, u, expected)
        let table: &[(u64, u64, u64, NextDiffCheck)] = &[
            (200, 201, 210, Contiguous),
            (200, 201, 201, Contiguous),
            (200, 190, 200, Stale),
            (200, 150, 160, Stale),
            (
                200,
                202,
                210,
                Gap {
                    expected: 201,
                    got: 202,
                },
            ),
            (
                200,
                300,
                310,
                Gap {
                    expected: 201,
                    got: 300,
                },
            ),
            (200, 195, 205, Overlap),
            (200, 200, 201, Overlap),
            (200, 210, 205, Malformed),
            (u64::MAX, u64::MAX, u64::MAX, Stale),
        ];
        for &(book, first, last, expected) in table {
            assert_eq!(
                check_next_diff(book, first, last),
                expected,
                "book={book} U={first} u={last}"
            );
        }
    }
}
