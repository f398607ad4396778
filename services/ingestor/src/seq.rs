//! Sequence checks per symbol on the three streams (pure, no I/O).
//!
//! - depth diffs: `U == previous u + 1` ([`market::sequence::check_next_diff`]);
//! - bestBidAsk: `bookUpdateId` strictly increasing (the stream is culled, so ids skip: only a
//!   regression is a break);
//! - trades: trade ids contiguous, within one event and across events.
//!
//! The first message of each stream after [`SequenceChecker::reset`] (a new connection) anchors
//! the chain: the `Reconnected` marker already says that anything before it may be missing.

use market::sequence::{NextDiffCheck, check_next_diff};

/// What one message means for its stream's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Continues the chain (or anchors it).
    InOrder,
    /// A depth diff already covered (`u <= previous u`): harmless duplicate.
    Stale,
    /// The chain broke: messages between `last_good` and `received` are missing (or, for
    /// bestBidAsk, `received` went backwards).
    Break { last_good: i64, received: i64 },
    /// Not a valid message for its stream (`U > u`, negative ids).
    Malformed,
}

/// The chain positions of one symbol's streams.
#[derive(Debug, Clone, Default)]
pub struct SequenceChecker {
    depth: Option<i64>,
    best_bid_ask: Option<i64>,
    trade: Option<i64>,
}

impl SequenceChecker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Forget every position (new connection): the next message of each stream anchors it.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Last depth `u` seen, if any.
    pub fn depth_position(&self) -> Option<i64> {
        self.depth
    }

    /// A depth diff `[first, last]` (`U`, `u`).
    pub fn depth(&mut self, first: i64, last: i64) -> Verdict {
        let (Ok(f), Ok(l)) = (u64::try_from(first), u64::try_from(last)) else {
            return Verdict::Malformed;
        };
        if f > l {
            return Verdict::Malformed;
        }
        let Some(prev) = self.depth else {
            self.depth = Some(last);
            return Verdict::InOrder;
        };
        match check_next_diff(u64::try_from(prev).unwrap_or(0), f, l) {
            NextDiffCheck::Contiguous => {
                self.depth = Some(last);
                Verdict::InOrder
            }
            NextDiffCheck::Stale => Verdict::Stale,
            NextDiffCheck::Gap { .. } | NextDiffCheck::Overlap => {
                self.depth = Some(last);
                Verdict::Break {
                    last_good: prev,
                    received: first,
                }
            }
            NextDiffCheck::Malformed => Verdict::Malformed,
        }
    }

    /// A bestBidAsk `bookUpdateId`.
    pub fn best_bid_ask(&mut self, id: i64) -> Verdict {
        if id < 0 {
            return Verdict::Malformed;
        }
        match self.best_bid_ask {
            Some(prev) if id <= prev => Verdict::Break {
                last_good: prev,
                received: id,
            },
            _ => {
                self.best_bid_ask = Some(id);
                Verdict::InOrder
            }
        }
    }

    /// The trade ids of one trade event, in order. Reports the first break; the chain continues
    /// from the event's last id either way.
    pub fn trades(&mut self, ids: impl IntoIterator<Item = i64>) -> Verdict {
        let mut verdict = Verdict::InOrder;
        for id in ids {
            if id < 0 {
                return Verdict::Malformed;
            }
            if let Some(prev) = self.trade
                && id != prev.saturating_add(1)
                && verdict == Verdict::InOrder
            {
                verdict = Verdict::Break {
                    last_good: prev,
                    received: id,
                };
            }
            self.trade = Some(id);
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_chain_requires_first_id_to_follow_the_previous_last_id() {
        let mut s = SequenceChecker::new();
        // (U, u, expected)
        let table = [
            (100, 110, Verdict::InOrder), // anchors
            (111, 111, Verdict::InOrder),
            (112, 120, Verdict::InOrder),
            (105, 118, Verdict::Stale),
            (
                125,
                130,
                Verdict::Break {
                    last_good: 120,
                    received: 125,
                },
            ),
            (131, 140, Verdict::InOrder), // continues from the diff after the break
            (
                135,
                150,
                Verdict::Break {
                    last_good: 140,
                    received: 135,
                },
            ), // overlap
            (160, 155, Verdict::Malformed),
            (-1, 5, Verdict::Malformed),
        ];
        for (first, last, want) in table {
            assert_eq!(s.depth(first, last), want, "U={first} u={last}");
        }
        assert_eq!(s.depth_position(), Some(150));
    }

    #[test]
    fn best_bid_ask_ids_may_skip_but_never_go_backwards() {
        let mut s = SequenceChecker::new();
        assert_eq!(s.best_bid_ask(10), Verdict::InOrder);
        assert_eq!(s.best_bid_ask(15), Verdict::InOrder);
        assert_eq!(
            s.best_bid_ask(15),
            Verdict::Break {
                last_good: 15,
                received: 15
            }
        );
        assert_eq!(
            s.best_bid_ask(12),
            Verdict::Break {
                last_good: 15,
                received: 12
            }
        );
        assert_eq!(s.best_bid_ask(16), Verdict::InOrder);
        assert_eq!(s.best_bid_ask(-3), Verdict::Malformed);
    }

    #[test]
    fn trade_ids_must_be_contiguous_within_and_across_events() {
        let mut s = SequenceChecker::new();
        assert_eq!(s.trades([7, 8, 9]), Verdict::InOrder);
        assert_eq!(s.trades([10]), Verdict::InOrder);
        assert_eq!(
            s.trades([11, 13, 14]),
            Verdict::Break {
                last_good: 11,
                received: 13
            }
        );
        assert_eq!(s.trades([15]), Verdict::InOrder);
        assert_eq!(
            s.trades([20]),
            Verdict::Break {
                last_good: 15,
                received: 20
            }
        );
    }

    #[test]
    fn reset_makes_the_next_message_of_every_stream_an_anchor() {
        let mut s = SequenceChecker::new();
        s.depth(1, 5);
        s.trades([3]);
        s.best_bid_ask(9);
        s.reset();
        assert_eq!(s.depth(100, 120), Verdict::InOrder);
        assert_eq!(s.trades([50]), Verdict::InOrder);
        assert_eq!(s.best_bid_ask(2), Verdict::InOrder);
    }
}
