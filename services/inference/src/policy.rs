//! The automatic promotion policy (off by default), pure: promote only when a challenger is loaded,
//! both models' live log-loss rests on at least `min_windows` moved windows, and the challenger's
//! log-loss is lower than the champion's by at least `margin`. Every decision carries its reason
//! (the audit log records refusals when their kind changes, so a steady refusal is logged once).

use crate::lifecycle::LiveScores;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Policy {
    pub margin: f64,
    pub min_windows: usize,
}

/// The kind of a decision (what the audit log de-duplicates on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Promote,
    NoChallenger,
    TooFewWindows,
    NotBetter,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub verdict: Verdict,
    pub reason: String,
}

impl Policy {
    pub fn decide(&self, challenger_loaded: bool, s: &LiveScores) -> Decision {
        let d = |verdict, reason: String| Decision { verdict, reason };
        if !challenger_loaded {
            return d(Verdict::NoChallenger, "no challenger loaded".into());
        }
        let (ch, cc) = (&s.champion, &s.challenger);
        if ch.moved < self.min_windows || cc.moved < self.min_windows {
            return d(
                Verdict::TooFewWindows,
                format!(
                    "too few scored moved windows: champion {}, challenger {}, need {} each",
                    ch.moved, cc.moved, self.min_windows
                ),
            );
        }
        let (Some(a), Some(b)) = (ch.log_loss, cc.log_loss) else {
            return d(
                Verdict::TooFewWindows,
                "live log-loss not yet defined for both models".into(),
            );
        };
        let gain = a - b;
        if gain >= self.margin {
            d(
                Verdict::Promote,
                format!(
                    "challenger log-loss {b:.4} beats champion {a:.4} by {gain:.4} >= margin {:.4} over {} / {} moved windows",
                    self.margin, cc.moved, ch.moved
                ),
            )
        } else {
            d(
                Verdict::NotBetter,
                format!(
                    "challenger log-loss {b:.4} vs champion {a:.4}: improvement {gain:.4} < margin {:.4}",
                    self.margin
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::Quality;

    fn q(moved: usize, log_loss: f64) -> Quality {
        Quality {
            scored: moved,
            moved,
            log_loss: Some(log_loss),
            ..Quality::default()
        }
    }

    fn scores(champion: Quality, challenger: Quality) -> LiveScores {
        LiveScores { champion, challenger }
    }

    const P: Policy = Policy {
        margin: 0.01,
        min_windows: 100,
    };

    #[test]
    fn a_better_challenger_on_enough_windows_is_promoted() {
        let d = P.decide(true, &scores(q(150, 0.69), q(120, 0.60)));
        assert_eq!(d.verdict, Verdict::Promote, "{}", d.reason);
        assert!(
            d.reason.contains("0.6000") && d.reason.contains("0.6900"),
            "{}",
            d.reason
        );
    }

    #[test]
    fn too_few_windows_on_either_side_never_promotes_however_good() {
        for s in [
            scores(q(150, 0.69), q(99, 0.10)),
            scores(q(99, 0.69), q(150, 0.10)),
            scores(q(0, 0.69), q(0, 0.10)),
        ] {
            let d = P.decide(true, &s);
            assert_eq!(d.verdict, Verdict::TooFewWindows, "{s:?}: {}", d.reason);
        }
        let mut undefined = scores(q(150, 0.69), q(150, 0.1));
        undefined.challenger.log_loss = None;
        assert_eq!(P.decide(true, &undefined).verdict, Verdict::TooFewWindows);
    }

    #[test]
    fn a_worse_equal_or_marginally_better_challenger_is_not_promoted() {
        for challenger in [0.80, 0.69, 0.685] {
            let d = P.decide(true, &scores(q(150, 0.69), q(150, challenger)));
            assert_eq!(d.verdict, Verdict::NotBetter, "{challenger}: {}", d.reason);
        }
        // A gain just above the margin (0.0125 >= 0.01) is enough.
        let d = P.decide(true, &scores(q(150, 0.70), q(150, 0.6875)));
        assert_eq!(d.verdict, Verdict::Promote, "{}", d.reason);
    }

    #[test]
    fn without_a_challenger_nothing_is_promoted() {
        let d = P.decide(false, &scores(q(150, 0.69), q(150, 0.1)));
        assert_eq!(d.verdict, Verdict::NoChallenger);
    }
}
